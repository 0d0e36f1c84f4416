"""Read pyautogui-style code without running it: ``ast.parse`` plus a whitelist.

Every statement must be one call of an allowed (dotted) name whose arguments are
literals: numbers, strings, True/False/None, lists/tuples of those, a unary minus.
Anything else is a ParseError naming the offending snippet; nothing is evaluated.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import Any

from kimicua.agent.parser import MAX_ACTIONS, ParseError

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
MAX_STATEMENTS = MAX_ACTIONS  # each call is an action; more is a loop gone wrong
# Whole numbers beyond a float's range: no coordinate or count is that big, and repr()
# of one past 4300 digits (a hex literal gets there) raises ValueError.
MAX_INT_BITS = 1024


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
    if len(tree.body) > MAX_STATEMENTS:
        raise ParseError(f"{len(tree.body)} statements in one block of code, more than {MAX_STATEMENTS}")
    src = _Source(code)
    calls = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import) and all(
            a.name in NO_OP_IMPORTS and a.asname is None for a in stmt.names
        ):
            continue
        if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
            raise _error(src, stmt, f"only calls are allowed, not {_kind(stmt)}")
        calls.append(_read_call(src, stmt.value, allowed))
    return calls


class _Source:
    """``ast.get_source_segment`` in time proportional to the segment: the stdlib's
    re-splits the whole code, character by character, on every call (3.11)."""

    _NEWLINE = re.compile(r"\r\n|\r|\n")  # the lines the tokenizer sees; not \f or \u2028

    def __init__(self, code: str):
        self.code = code
        self.starts = [0, *(m.end() for m in self._NEWLINE.finditer(code))]

    def line(self, n: int) -> str:  # 0-based
        end = self.starts[n + 1] if n + 1 < len(self.starts) else len(self.code)
        return self.code[self.starts[n]:end]

    def segment(self, node: ast.AST) -> str | None:
        first, last = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        col, end_col = getattr(node, "col_offset", None), getattr(node, "end_col_offset", None)
        if None in (first, last, col, end_col):
            return None
        # Offsets count UTF-8 bytes of their line.
        if first == last:
            return self.line(first - 1).encode()[col:end_col].decode()
        head = self.line(first - 1).encode()[col:].decode()
        tail = self.line(last - 1).encode()[:end_col].decode()
        middle = self.code[self.starts[first]:self.starts[last - 1]]
        return head + middle + tail


def _read_call(src: _Source, node: ast.Call, allowed: frozenset[str]) -> Call:
    name = _dotted(node.func)
    if name is None:
        raise _error(src, node.func, "only calls of a plain (dotted) name are allowed")
    if name not in allowed:
        raise _error(src, node, f"call of {name} is not allowed")
    args = tuple(_literal(src, a) for a in node.args)
    kwargs: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise _error(src, kw.value, "**kwargs are not allowed")
        if kw.arg in kwargs:
            raise _error(src, kw, f"keyword {kw.arg} given twice")
        kwargs[kw.arg] = _literal(src, kw.value)
    return Call(name, args, kwargs, node.lineno, src.segment(node) or name)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _literal(src: _Source, node: ast.AST) -> Any:
    match node:
        case ast.Constant(value=bool() | None as v):
            return v
        case ast.Constant(value=int() as v) if not isinstance(v, bool) and v.bit_length() > MAX_INT_BITS:
            raise _error(src, node, "number is too large")
        case ast.Constant(value=int() | float() as v):
            return v
        case ast.Constant(value=str() as v):
            try:
                v.encode("utf-8")  # lone surrogates from "\ud800" escapes
            except UnicodeEncodeError:
                raise _error(src, node, "string is not valid unicode") from None
            return v
        case ast.UnaryOp(op=ast.USub() | ast.UAdd() as op, operand=ast.Constant(value=v)) if (
            isinstance(v, (int, float)) and not isinstance(v, bool)
        ):
            v = _literal(src, node.operand)  # the size check
            return -v if isinstance(op, ast.USub) else v
        case ast.List(elts=elts) | ast.Tuple(elts=elts):
            return tuple(_literal(src, e) for e in elts)
        case ast.JoinedStr():
            raise _error(src, node, "f-strings are not allowed")
        case ast.Starred():
            raise _error(src, node, "*args are not allowed")
        case ast.Name(id=name):
            raise _error(src, node, f"names are not allowed as arguments ({name})")
        case ast.Call():
            raise _error(src, node, "calls are not allowed as arguments")
    raise _error(src, node, f"only literal arguments are allowed, not {_kind(node)}")


def _kind(node: ast.AST) -> str:
    return {
        "Import": "an import", "ImportFrom": "an import", "Assign": "an assignment",
        "AugAssign": "an assignment", "AnnAssign": "an assignment", "For": "a loop",
        "While": "a loop", "If": "an if", "Expr": "an expression", "FunctionDef": "a def",
        "ListComp": "a comprehension", "GeneratorExp": "a comprehension",
        "SetComp": "a comprehension", "DictComp": "a comprehension",
    }.get(type(node).__name__, type(node).__name__)


def _error(src: _Source, node: ast.AST, reason: str) -> ParseError:
    snippet = src.segment(node)
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
        raise ParseError(f"{what} must be a number, got {shown(value)}")
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ParseError(f"{what} must be finite, got {shown(value)}")
    return out


def shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for messages; never raises (repr
    of an int past 4300 digits does)."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        return f"a {value.bit_length()}-bit number"
    try:
        return repr(value)[:limit]
    except (ValueError, RecursionError):
        return f"a {type(value).__name__}"


def integer(value: Any, what: str) -> int:
    """A whole number (5 or 5.0)."""
    out = number(value, what)
    if out != int(out):
        raise ParseError(f"{what} must be a whole number, got {shown(value)}")
    return int(out)
