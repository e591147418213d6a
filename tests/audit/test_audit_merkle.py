"""RFC 9162 hashing and proofs against a reference written straight from the RFC's definitions."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from agentor_audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    Levels,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


def ref_mth(data: list[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1, recursive, over leaf *data*."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(data[:k]) + ref_mth(data[k:])).digest()


def ref_path(m: int, data: list[bytes]) -> list[bytes]:
    n = len(data)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(m, data[:k]), ref_mth(data[k:])]
    return [*ref_path(m - k, data[k:]), ref_mth(data[:k])]


def ref_subproof(m: int, data: list[bytes], b: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if b else [ref_mth(data)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(m, data[:k], b), ref_mth(data[k:])]
    return [*ref_subproof(m - k, data[k:], False), ref_mth(data[:k])]


def ref_proof(m: int, data: list[bytes]) -> list[bytes]:
    return ref_subproof(m, data, True) if 0 < m < len(data) else []


def make(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert root_from_leaf_hashes([]) == EMPTY_ROOT == ref_mth([])
    assert Frontier().root() == EMPTY_ROOT


def test_leaf_and_node_prefixes_follow_rfc_9162() -> None:
    assert leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert (
        node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=300))
def test_roots_match_reference(n: int) -> None:
    data = make(n)
    leaves = [leaf_hash(d) for d in data]
    expected = ref_mth(data)
    assert root_from_leaf_hashes(leaves) == expected
    assert Levels(leaves).root() == expected
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    assert frontier.root() == expected
    assert Frontier.unpack(n, frontier.pack()).root() == expected


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_inclusion_proofs_match_reference_and_verify(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(min_value=1, max_value=200))
    m = draw.draw(st.integers(min_value=0, max_value=n - 1))
    data = make(n)
    levels = Levels([leaf_hash(d) for d in data])
    proof = inclusion_proof(m, n, levels.subtree)
    assert proof == ref_path(m, data)
    root = ref_mth(data)
    assert verify_inclusion(m, n, leaf_hash(data[m]), proof, root)
    assert not verify_inclusion(m, n, leaf_hash(b"forged"), proof, root)
    if n > 1:
        assert not verify_inclusion((m + 1) % n, n, leaf_hash(data[m]), proof, root)
    if proof:
        bent = [*proof[:-1], bytes(32)]
        assert not verify_inclusion(m, n, leaf_hash(data[m]), bent, root)
        assert not verify_inclusion(m, n, leaf_hash(data[m]), proof[:-1], root)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_consistency_proofs_match_reference_and_verify(draw: st.DataObject) -> None:
    n = draw.draw(st.integers(min_value=1, max_value=200))
    m = draw.draw(st.integers(min_value=1, max_value=n))
    data = make(n)
    levels = Levels([leaf_hash(d) for d in data])
    proof = consistency_proof(m, n, levels.subtree)
    assert proof == ref_proof(m, data)
    old_root, new_root = ref_mth(data[:m]), ref_mth(data)
    assert verify_consistency(m, n, old_root, new_root, proof)
    if m < n:
        assert not verify_consistency(m, n, ref_mth([*make(m - 1), b"other"]), new_root, proof)
        assert not verify_consistency(m, n, old_root, ref_mth([*data[:-1], b"x"]), proof)
        assert not verify_consistency(m, n, old_root, new_root, [*proof[:-1], bytes(32)])


def test_frontier_reports_completed_subtrees() -> None:
    seen: list[tuple[int, int]] = []
    frontier = Frontier()
    for i in range(8):
        frontier.append(leaf_hash(bytes([i])), lambda level, index, _h: seen.append((level, index)))
    assert seen == [(1, 0), (1, 1), (2, 0), (1, 2), (1, 3), (2, 1), (3, 0)]
