"""The layout's rules, checked on the source: dependencies run one way and no module imports itself back.

- ``pipelines`` never imports ``crawler`` (extraction and storage stay usable without the crawler);
- no import cycle between modules, counting function-local imports too (they are only allowed to
  keep heavy modules out of a process, never to hide a cycle);
- every ``AUTONEWS_*`` setting the code reads is declared in ``crawler/settings.py``;
- every public function and class has a docstring.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("crawler", "pipelines")


def modules() -> dict[str, Path]:
    """Every module of the two packages by dotted name (the demo site's pages excluded)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(path: Path, name: str, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The project modules ``path`` imports (anywhere in it), with the line of each import."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            # the deepest project module named by the import (``from a.b import c`` may mean module a.b.c)
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target, node.lineno


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: {target for target, _ in imports(path, name, known)} for name, path in known.items()}


def test_pipelines_never_import_crawler() -> None:
    known = modules()
    wrong = [f"{known[name].relative_to(REPO)}:{line} imports {target}"
             for name in known if name.startswith("pipelines")
             for target, line in imports(known[name], name, known) if target.startswith("crawler")]
    assert wrong == []


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


def test_every_autonews_setting_read_is_declared_once() -> None:
    declared = re.findall(r"^(AUTONEWS_\w+)\s*[:=]", (REPO / "crawler" / "settings.py").read_text(encoding="utf-8"),
                          flags=re.M)
    assert len(declared) == len(set(declared)), "a setting is declared twice"
    read: set[str] = set()
    for path in modules().values():
        read |= set(re.findall(r"[\"'](AUTONEWS_[A-Z_]+)[\"']", path.read_text(encoding="utf-8")))
    assert sorted(read - set(declared)) == []


def test_public_functions_and_classes_have_docstrings() -> None:
    missing = []
    for name, path in modules().items():
        if ".demo.site" in name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not ast.get_docstring(tree):
            missing.append(f"{name} (module)")
        members = [(node, "") for node in tree.body]
        members += [(sub, f"{node.name}.") for node in tree.body if isinstance(node, ast.ClassDef) for sub in node.body]
        for node, owner in members:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if not node.name.startswith("_") and not ast.get_docstring(node):
                    missing.append(f"{name}.{owner}{node.name}")
    assert missing == []
