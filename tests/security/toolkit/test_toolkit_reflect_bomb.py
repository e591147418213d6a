"""A few hundred bytes of WIT types can name a tuple of 100 000+ leaves: reflection is bounded."""

from __future__ import annotations

import pytest

from agentor_toolkit.reflect import reflect_bytes

wasmtime = pytest.importorskip("wasmtime")

_LEVELS = 17  # 2**17 leaves: under wasmtime's type-size limit, over any sane schema


def _type_bomb() -> bytes:
    # Each tuple type names the previous one twice: size doubles per level.
    types = ["(type $t0 (tuple u8 u8))"]
    types += [f"(type $t{i} (tuple $t{i - 1} $t{i - 1}))" for i in range(1, _LEVELS)]
    wat = f"""(component {" ".join(types)}
      (core module $m (memory (export "mem") 1)
        (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 8)
        (func (export "f") (param i32)))
      (core instance $i (instantiate $m))
      (func $g (param "x" $t{_LEVELS - 1})
        (canon lift (core func $i "f") (memory (core memory $i "mem"))
          (realloc (core func $i "realloc"))))
      (export "g" (func $g))
      (func $ok (param "n" u8)
        (canon lift (core func $i "f") (memory (core memory $i "mem"))
          (realloc (core func $i "realloc"))))
      (export "ok" (func $ok)))"""
    return bytes(wasmtime.wat2wasm(wat))


def test_an_exploding_type_is_skipped_not_expanded() -> None:
    reflection = reflect_bytes(_type_bomb(), source="bomb.wasm")
    assert [tool.name for tool in reflection.tools] == ["ok"]
    assert [s.name for s in reflection.skipped] == ["g"]


def _wide_enums() -> bytes:
    # Twelve parameters, each an enum of 10 000 cases: a schema of 120 000+ nodes.
    cases = " ".join(f'"c{i}"' for i in range(10_000))
    params = " ".join(f'(param "p{i}" $e)' for i in range(12))
    wat = f"""(component (type $e0 (enum {cases})) (export $e "e" (type $e0))
      (core module $m (func (export "f") (param {" ".join(["i32"] * 12)})))
      (core instance $i (instantiate $m))
      (func $g {params} (canon lift (core func $i "f")))
      (export "g" (func $g)))"""
    return bytes(wasmtime.wat2wasm(wat))


def test_a_schema_past_the_tool_bounds_is_skipped_not_a_crash() -> None:
    reflection = reflect_bytes(_wide_enums(), source="wide.wasm")
    assert reflection.tools == ()
    assert [s.name for s in reflection.skipped] == ["g"]
