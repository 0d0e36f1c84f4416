"""No eval/exec anywhere in the package: model text is data, never code."""

import ast
from pathlib import Path

import kimicua

FORBIDDEN = {"eval", "exec", "compile", "__import__"}


def _calls(tree: ast.AST):
    """Calls of the builtins, bare or as ``builtins.x``. Methods that share a name
    (``model.eval()``, ``re.compile()``) run no text and are not flagged."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in FORBIDDEN:
            yield f.id, node.lineno
        elif (isinstance(f, ast.Attribute) and f.attr in FORBIDDEN
              and isinstance(f.value, ast.Name) and f.value.id in ("builtins", "__builtins__")):
            yield f.attr, node.lineno


def test_package_has_no_eval_or_exec():
    root = Path(kimicua.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert any(p.name == "pycode.py" for p in files)  # the walk really covers the package
    found = [f"{p.relative_to(root)}:{line} {name}" for p in files
             for name, line in _calls(ast.parse(p.read_text(), str(p)))]
    assert found == []


def test_the_walk_would_catch_them():
    src = "x = eval(text)\nbuiltins.exec(code)\nmodel.eval()\nre.compile('a')\n__import__('os')"
    assert list(_calls(ast.parse(src))) == [("eval", 1), ("exec", 2), ("__import__", 5)]
