"""Provenance labels: default trust per source, and LabelSet.join as a lattice join."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agentor_core import Confidentiality, Label, LabelSet, Source, Trust

SETTINGS = settings(database=None, deadline=None, max_examples=300)

label_sets = st.builds(
    LabelSet,
    sources=st.frozensets(st.sampled_from(Source)),
    trust=st.sampled_from(Trust),
    confidentiality=st.sampled_from(Confidentiality),
)

TRUST_RANK = {Trust.TRUSTED: 0, Trust.UNTRUSTED: 1}
SECRECY_RANK = {Confidentiality.PUBLIC: 0, Confidentiality.PRIVATE: 1}


@pytest.mark.parametrize(
    ("source", "trust"),
    [
        (Source.USER, Trust.TRUSTED),
        (Source.SYSTEM, Trust.TRUSTED),
        (Source.TRUSTED_TOOL, Trust.TRUSTED),
        (Source.UNTRUSTED_TOOL, Trust.UNTRUSTED),
        (Source.DOCUMENT, Trust.UNTRUSTED),
        (Source.MODEL, Trust.UNTRUSTED),
    ],
)
def test_label_of_default_trust(source: Source, trust: Trust) -> None:
    label = Label.of(source)
    assert label == Label(source=source, trust=trust, confidentiality=Confidentiality.PUBLIC)
    assert Label.of(source, private=True).confidentiality is Confidentiality.PRIVATE
    assert Label.of(source, private=True).trust is trust


def test_every_source_has_a_default() -> None:
    assert {Label.of(source).source for source in Source} == set(Source)


def test_empty_label_set_is_trusted_and_public() -> None:
    empty = LabelSet()
    assert empty.sources == frozenset()
    assert empty.is_trusted
    assert not empty.is_private
    assert LabelSet.of() == empty


def test_label_set_of_joins_labels() -> None:
    labels = LabelSet.of(Label.of(Source.USER), Label.of(Source.DOCUMENT, private=True))
    assert labels.sources == {Source.USER, Source.DOCUMENT}
    assert labels.trust is Trust.UNTRUSTED
    assert labels.confidentiality is Confidentiality.PRIVATE
    assert not labels.is_trusted
    assert labels.is_private
    trusted = LabelSet.of(Label.of(Source.USER), Label.of(Source.SYSTEM))
    assert trusted.is_trusted
    assert not trusted.is_private


def test_untrusted_data_cannot_be_made_to_look_trusted() -> None:
    tainted = LabelSet.of(Label.of(Source.MODEL))
    for source in Source:
        assert not tainted.join(LabelSet.of(Label.of(source))).is_trusted


def test_label_set_rejects_unknown_values() -> None:
    with pytest.raises(ValidationError, match="sources"):
        LabelSet.model_validate({"sources": ["internet"]})
    with pytest.raises(ValidationError, match="trust"):
        LabelSet.model_validate({"trust": "somewhat"})


def test_label_set_json_lists_sources_sorted() -> None:
    labels = LabelSet.of(*(Label.of(source) for source in Source))
    assert labels.model_dump(mode="json")["sources"] == sorted(s.value for s in Source)


@SETTINGS
@given(label_sets, label_sets)
def test_join_commutative(a: LabelSet, b: LabelSet) -> None:
    assert a.join(b) == b.join(a)


@SETTINGS
@given(label_sets, label_sets, label_sets)
def test_join_associative(a: LabelSet, b: LabelSet, c: LabelSet) -> None:
    assert a.join(b).join(c) == a.join(b.join(c))


@SETTINGS
@given(label_sets)
def test_join_idempotent_with_empty_as_identity(a: LabelSet) -> None:
    assert a.join(a) == a
    assert a.join(LabelSet()) == a
    assert LabelSet().join(a) == a


@SETTINGS
@given(label_sets, label_sets)
def test_join_is_an_upper_bound(a: LabelSet, b: LabelSet) -> None:
    joined = a.join(b)
    assert joined.sources == a.sources | b.sources
    # Trust never increases; confidentiality never decreases.
    assert TRUST_RANK[joined.trust] == max(TRUST_RANK[a.trust], TRUST_RANK[b.trust])
    assert SECRECY_RANK[joined.confidentiality] == max(
        SECRECY_RANK[a.confidentiality], SECRECY_RANK[b.confidentiality]
    )
    assert joined.join(a) == joined
    assert joined.join(b) == joined


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(Source), st.booleans()), max_size=10))
def test_label_set_of_matches_pairwise_join(pairs: list[tuple[Source, bool]]) -> None:
    labels = [Label.of(source, private=private) for source, private in pairs]
    result = LabelSet.of(*labels)
    assert result.sources == {source for source, _ in pairs}
    assert result.is_trusted == all(label.trust is Trust.TRUSTED for label in labels)
    assert result.is_private == any(private for _, private in pairs)
