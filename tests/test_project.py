"""Project-level contracts: the README's commands, CI, and the import direction."""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kimicua"


def test_readme_quickstart_is_the_two_commands_ci_and_make_use():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart\s+```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci/run").read_text()
    targets = re.findall(r"^([a-z]+):", (ROOT / "Makefile").read_text(), re.M)
    assert {"demo", "test"} <= set(targets)


# Which top-level packages each package may import (tools -> tasks -> agent -> {env, model}).
ALLOWED = {
    "env": {"env"},
    "model": {"model"},
    "agent": {"agent", "env", "model"},
    "tasks": {"tasks", "agent", "env"},
    "tools": {"tools", "tasks", "agent", "env", "model"},
}


def test_dependencies_point_one_way():
    bad = []
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        layer = parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                if name.startswith("kimicua."):
                    target = name.split(".")[1]
                    if target in ALLOWED and target not in ALLOWED[layer]:
                        bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert bad == []


def test_core_imports_without_torch():
    # Every module outside kimicua.model must import with torch unavailable.
    code = (
        "import sys, importlib, pkgutil, kimicua\n"
        "sys.modules['torch'] = None  # any import of torch now fails\n"
        "for m in pkgutil.walk_packages(kimicua.__path__, 'kimicua.'):\n"
        "    if not m.name.startswith('kimicua.model'):\n"
        "        importlib.import_module(m.name)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
