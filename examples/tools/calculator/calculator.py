"""Evaluate arithmetic safely by walking the expression's syntax tree (never eval)."""

from __future__ import annotations

import ast
import math
import operator
from typing import Annotated, Any

from agentor_toolkit.guest import Field, ToolFailure, tool

_BINARY: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type, Any] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Any] = {
    "sqrt": math.sqrt,
    "abs": abs,
    "round": round,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "exp": math.exp,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "min": min,
    "max": max,
}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_EXPONENT = 10_000
MAX_NODES = 500


def _fail(message: str) -> ToolFailure:
    return ToolFailure("invalid_expression", message)


def _eval(node: ast.AST) -> float | int:
    if isinstance(node, ast.Expression):
        return _eval(node.body)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_eval(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _eval(node.left), _eval(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > MAX_EXPONENT:
            raise _fail(f"exponents are limited to {MAX_EXPONENT}")
        return _BINARY[type(node.op)](left, right)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
    ):
        return _FUNCTIONS[node.func.id](*(_eval(arg) for arg in node.args))
    raise _fail(
        f"{type(node).__name__} is not allowed; use numbers, + - * / // % **, "
        f"parentheses, {', '.join(sorted(_CONSTANTS))} and {', '.join(sorted(_FUNCTIONS))}"
    )


@tool(read_only=True, idempotent=True)
def calculate(expression: Annotated[str, Field(min_length=1, max_length=1000)]) -> float:
    """Evaluate an arithmetic expression such as "2 * (3 + 4) ** 2 / sqrt(16)".

    Args:
        expression: Numbers, + - * / // % **, parentheses, pi, e, tau and math functions.
    """
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise _fail("not an arithmetic expression") from None
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise _fail(f"expressions are limited to {MAX_NODES} parts")
    try:
        value = _eval(tree)
    except ZeroDivisionError:
        raise _fail("division by zero") from None
    except (OverflowError, ValueError, TypeError) as exc:
        raise _fail(str(exc)) from None
    result = float(value)
    if not math.isfinite(result):
        raise _fail("the result is not a finite number")
    return result
