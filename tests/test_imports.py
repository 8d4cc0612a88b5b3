"""The package's import graph: no cycles, and the commands stand on the public API only."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import posenet

from .conftest import ROOT

SRC = Path(posenet.__file__).resolve().parent
#: The modules beside the package's own `__all__` that are public: each has an `__all__`
#: and the README's Python section names it.
PUBLIC_MODULES = (
    "posenet.batch",
    "posenet.bench",
    "posenet.evaluate",
    "posenet.explain",
    "posenet.export",
    "posenet.files",
    "posenet.fusion",
    "posenet.inspection",
    "posenet.render",
    "posenet.serve",
    "posenet.store",
    "posenet.track",
    "posenet.video",
)


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = ("posenet", *path.relative_to(SRC).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = modules()


def imports(name: str) -> list[tuple[str, tuple[str, ...]]]:
    """(posenet module, names taken from it) for every import in module `name`, at any depth
    (imports inside functions count: they run too)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, ()) for a in node.names if a.name.split(".")[0] == "posenet"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.split(".")[0] != "posenet":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((submodule, ()) if submodule in MODULES else (target, (alias.name,)))
    return found


def test_the_import_graph_has_no_cycles():
    graph = {name: sorted({target for target, _ in imports(name)}) for name in MODULES}
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in graph[name]:
            assert target in MODULES, f"{name} imports {target}, which does not exist"
            if state.get(target) == "open":
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[name] = "done"

    for name in graph:
        if name not in state:
            visit(name, [name])


def test_commands_import_only_the_public_api():
    """No private name, no private module; from the package only its __all__, from the
    public modules only theirs; sibling command modules are the commands' own."""
    problems = []
    commands = [n for n in MODULES if n.startswith("posenet.commands.")]
    assert commands
    for name in commands:
        for target, names in imports(name):
            where = f"{name} imports {target}"
            if any(part.startswith("_") for part in target.split(".")):
                problems.append(f"{where}: a private module")
            elif any(n.startswith("_") for n in names):
                problems.append(f"{where}: private name(s) {names}")
            elif target.startswith("posenet.commands."):
                continue
            elif target == "posenet" or target in PUBLIC_MODULES:
                public = importlib.import_module(target).__all__
                problems += [
                    f"{where}: {n} is not in its __all__" for n in names if n not in public
                ]
            else:
                problems.append(f"{where}: not a public module")
    assert problems == []


def test_public_modules_have_all_and_the_readme_names_them():
    readme = (ROOT / "README.md").read_text()
    python = readme[readme.index("From Python:") :]
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        assert module.__all__, name
        assert all(hasattr(module, n) for n in module.__all__), name
        assert f"`{name}`" in python, f"the README's Python section does not name {name}"
    for name in posenet.__all__:
        assert hasattr(posenet, name)
