"""Read pyautogui-style code without running it: ``ast.parse`` plus a whitelist.

Every statement must be one call of an allowed (dotted) name whose arguments are
literals: numbers, strings, True/False/None, lists/tuples of those, a unary minus.
Anything else is a ParseError naming the offending snippet; nothing is evaluated.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass
from typing import Any

from kimicua.agent.parser import ParseError

PYAUTOGUI_CALLS = frozenset(
    {
        *(f"pyautogui.{f}" for f in (
            "click", "doubleClick", "tripleClick", "rightClick", "middleClick", "moveTo",
            "dragTo", "mouseDown", "mouseUp", "scroll", "hscroll", "write", "typewrite",
            "press", "keyDown", "keyUp", "hotkey",
        )),
        "computer.wait", "computer.terminate", "computer.triple_click", "time.sleep",
    }
)

# OSWorld's code strings routinely start with these imports. Reading them changes
# nothing (nothing runs), so they are skipped; every other import is refused.
NO_OP_IMPORTS = frozenset({"pyautogui", "time"})

MAX_CODE = 20_000


@dataclass(frozen=True, slots=True)
class Call:
    """One whitelisted call with its literal arguments (lists come back as tuples)."""

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    line: int
    snippet: str


def read_calls(code: str, allowed: frozenset[str] = PYAUTOGUI_CALLS) -> list[Call]:
    """The calls in ``code``, in order; ParseError for anything outside the whitelist."""
    if len(code) > MAX_CODE:
        raise ParseError(f"code is {len(code)} characters, more than {MAX_CODE}")
    try:
        tree = ast.parse(code, mode="exec")
    except SyntaxError as err:
        raise ParseError(f"syntax error: {err.msg}", snippet=err.text, line=err.lineno,
                         col=err.offset) from None
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, deep nesting
        raise ParseError(f"unreadable code: {type(err).__name__}") from None
    calls = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import) and all(
            a.name in NO_OP_IMPORTS and a.asname is None for a in stmt.names
        ):
            continue
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            raise _error(code, stmt, f"only calls are allowed, not {_kind(stmt)}")
        calls.append(_read_call(code, stmt.value, allowed))
    return calls


def _read_call(code: str, node: ast.Call, allowed: frozenset[str]) -> Call:
    name = _dotted(node.func)
    if name is None:
        raise _error(code, node.func, "only calls of a plain (dotted) name are allowed")
    if name not in allowed:
        raise _error(code, node, f"call of {name} is not allowed")
    args = tuple(_literal(code, a) for a in node.args)
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise _error(code, kw.value, "**kwargs are not allowed")
        if kw.arg in kwargs:
            raise _error(code, kw, f"keyword {kw.arg} given twice")
        kwargs[kw.arg] = _literal(code, kw.value)
    return Call(name, args, kwargs, node.lineno, ast.get_source_segment(code, node) or name)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(code: str, node: ast.AST) -> Any:
    match node:
        case ast.Constant(value=bool() | None as v):
            return v
        case ast.Constant(value=int() | float() as v):
            return v
        case ast.Constant(value=str() as v):
            try:
                v.encode("utf-8")  # lone surrogates from "\ud800" escapes
            except UnicodeEncodeError:
                raise _error(code, node, "string is not valid unicode") from None
            return v
        case ast.UnaryOp(op=ast.USub() | ast.UAdd() as op, operand=ast.Constant(value=v)) if (
            isinstance(v, (int, float)) and not isinstance(v, bool)
        ):
            return -v if isinstance(op, ast.USub) else v
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            return tuple(_literal(code, e) for e in elts)
        case ast.JoinedStr():
            raise _error(code, node, "f-strings are not allowed")
        case ast.Starred():
            raise _error(code, node, "*args are not allowed")
        case ast.Name(id=name):
            raise _error(code, node, f"names are not allowed as arguments ({name})")
        case ast.Call():
            raise _error(code, node, "calls are not allowed as arguments")
    raise _error(code, node, f"only literal arguments are allowed, not {_kind(node)}")


def _kind(node: ast.AST) -> str:
    return {
        "Import": "an import", "ImportFrom": "an import", "Assign": "an assignment",
        "AugAssign": "an assignment", "AnnAssign": "an assignment", "For": "a loop",
        "While": "a loop", "If": "an if", "Expr": "an expression", "FunctionDef": "a def",
        "ListComp": "a comprehension", "GeneratorExp": "a comprehension",
        "SetComp": "a comprehension", "DictComp": "a comprehension",
    }.get(type(node).__name__, type(node).__name__)


def _error(code: str, node: ast.AST, reason: str) -> ParseError:
    snippet = ast.get_source_segment(code, node)
    line = getattr(node, "lineno", None)
    col = getattr(node, "col_offset", None)
    return ParseError(reason, snippet=snippet, line=line, col=None if col is None else col + 1)


# --- argument binding, shared by the dialects that read calls ------------------------


def bind(call: Call, params: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Positional and keyword arguments of ``call`` by parameter name."""
    if len(call.args) > len(params):
        raise ParseError(f"{call.name} takes at most {len(params)} positional arguments",
                         snippet=call.snippet, line=call.line)
    bound = dict(zip(params, call.args))
    for key, value in call.kwargs.items():
        if key not in params:
            raise ParseError(f"{call.name} has no argument {key}", snippet=call.snippet,
                             line=call.line)
        if key in bound:
            raise ParseError(f"{call.name} got {key} twice", snippet=call.snippet, line=call.line)
        bound[key] = value
    for key in required:
        if bound.get(key) is None:
            raise ParseError(f"{call.name} needs {key}", snippet=call.snippet, line=call.line)
    return bound


def number(value: Any, what: str) -> float:
    """A finite real number (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParseError(f"{what} must be a number, got {value!r:.40}")
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ParseError(f"{what} must be finite, got {value!r:.40}")
    return out


def integer(value: Any, what: str) -> int:
    """A whole number (5 or 5.0)."""
    out = number(value, what)
    if out != int(out):
        raise ParseError(f"{what} must be a whole number, got {value!r:.40}")
    return int(out)
