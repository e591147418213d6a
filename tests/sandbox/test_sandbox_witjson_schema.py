"""The arguments a generic export accepts are exactly what its advertised JSON Schema allows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from wasmtime import component as wc

from agentor_core.errors import AgentorError
from agentor_sandbox.cache import CompileCache
from agentor_sandbox.engine import new_engine
from agentor_sandbox.generic import reflect_component
from agentor_sandbox.loader import compile_wasm
from agentor_sandbox.witjson import from_wit, schema, to_wit

# Words the fixture's types use, so generated values are often valid or nearly so.
WORDS = ["red", "green", "blue", "read", "write", "exec", "circle", "rect", "empty"]
WORDS += ["x", "y", "ok", "err", "a", "é", ""]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(WORDS)
    | st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=3)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(WORDS), inner, max_size=3)
    ),
    max_leaves=12,
)


_INTS = {"U8": 8, "U16": 16, "U32": 32, "S8": 8, "S16": 16, "S32": 32}


def valid(ty: Any) -> st.SearchStrategy[Any]:
    """JSON values of ``ty``'s form, built from the WIT type (not from the schema)."""
    name = type(ty).__name__
    if name in _INTS:
        bits = _INTS[name]
        if name.startswith("U"):
            return st.integers(0, 2**bits - 1)
        return st.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if name in {"U64", "S64"}:
        return st.integers(0 if name == "U64" else -(2**53 - 1), 2**53 - 1)
    if isinstance(ty, wc.Bool):
        return st.booleans()
    if isinstance(ty, wc.F32):
        return st.floats(-3.4e38, 3.4e38)
    if isinstance(ty, wc.F64):
        return st.floats(allow_nan=False, allow_infinity=False)
    text = st.characters(exclude_categories=("Cs",))
    if isinstance(ty, wc.Char):
        return text
    if isinstance(ty, wc.String):
        return st.text(alphabet=text, max_size=5)
    if isinstance(ty, wc.ListType):
        return st.lists(valid(ty.element), max_size=3)
    if isinstance(ty, wc.TupleType):
        return st.tuples(*(valid(t) for t in ty.elements)).map(list)
    if isinstance(ty, wc.RecordType):
        return st.fixed_dictionaries({n: valid(t) for n, t in ty.fields})
    if isinstance(ty, wc.VariantType):
        return st.one_of(
            [st.just(n) if t is None else valid(t).map(lambda v, n=n: {n: v}) for n, t in ty.cases]
        )
    if isinstance(ty, wc.EnumType):
        return st.sampled_from(ty.names)
    if isinstance(ty, wc.OptionType):
        return st.none() | valid(ty.payload)
    if isinstance(ty, wc.ResultType):
        return st.one_of(
            [
                st.just({n: None}) if t is None else valid(t).map(lambda v, n=n: {n: v})
                for n, t in (("ok", ty.ok), ("err", ty.err))
            ]
        )
    if isinstance(ty, wc.FlagsType):
        return st.lists(st.sampled_from(ty.names), unique=True)
    raise AssertionError(name)


@pytest.fixture(scope="module")
def param_types(generic_wasm: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    from sandbox_fixtures import compile_cache_dir

    engine = new_engine()
    compiled = compile_wasm(
        engine,
        generic_wasm.read_bytes(),
        source="generic.wasm",
        cache=CompileCache(compile_cache_dir()),
    )
    assert compiled.component is not None
    exports = reflect_component(engine, compiled.component).exports
    return [ty for export in exports.values() for _, ty in export.params]


def _accepts(ty: Any, value: Any) -> bool:
    try:
        to_wit(ty, value, "v")
    except AgentorError:
        return False
    return True


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_conversion_accepts_exactly_what_the_schema_allows(
    param_types: list[Any], data: Any
) -> None:
    ty = data.draw(st.sampled_from(param_types))
    value = data.draw(valid(ty) | JSON)
    validator = jsonschema.Draft202012Validator(schema(ty, "v"))
    accepted = _accepts(ty, value)
    event(f"accepted={accepted}")
    assert accepted == validator.is_valid(value), (schema(ty, "v"), value)


def test_valid_values_survive_a_round_trip_through_wasmtime_values(param_types: list[Any]) -> None:
    # Lowered and lifted back without a guest: the JSON form is stable.
    samples = {
        "point": {"x": 1, "y": -2},
        "shape": {"rect": {"x": 0, "y": 0}},
        "flags": ["exec", "read"],
    }
    for ty in param_types:
        for value in samples.values():
            if _accepts(ty, value):
                lifted = from_wit(ty, to_wit(ty, value, "v"))
                assert jsonschema.Draft202012Validator(schema(ty, "v")).is_valid(lifted)
