"""The shape of the package: imports run one way, packages name their public surface, and
modules and functions stay small.

Layers, lowest first (a module may import its own layer or lower ones, never a higher one):
errors/paths -> schema -> config -> rundir -> providers -> sweep -> blind -> score -> stats ->
calibrate -> report -> compare -> pipeline -> cli. One lower layer is also out of bounds: the
report reads a judge's calibration from the run directory, never through ``calibrate`` (``APART``).
``harness.testing`` is test support: it may import anything, and nothing else imports it.
Imports inside functions count: a lazy import is there to save time, never to hide a cycle.
"""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"
LAYERS = ["errors", "paths", "schema", "config", "rundir", "providers", "sweep", "blind",
          "score", "stats", "calibrate", "report", "compare", "pipeline", "cli"]
RANK = {"errors": 0, "paths": 0, "schema": 1, "config": 2, "rundir": 3, "providers": 4,
        "sweep": 5, "blind": 6, "score": 7, "stats": 8, "calibrate": 9, "report": 10,
        "compare": 11, "pipeline": 12, "cli": 13}
APART = {"report": {"calibrate"}}
"""Lower layers a layer must not import all the same."""
PACKAGES = ["blind", "calibrate", "cli", "compare", "config", "providers", "report", "rundir",
            "schema", "score", "stats", "sweep"]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


@functools.cache
def modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package."""
    found = {}
    for path in sorted(HARNESS.rglob("*.py")):
        parts = list(path.relative_to(HARNESS.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(path: Path, name: str) -> set[str]:
    """Every harness module ``path`` imports, at any depth of the file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("harness"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            if not base.startswith("harness"):
                continue
            known = modules()
            exported = public_names(base)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                is_module = candidate in known and alias.name not in exported
                found.add(candidate if is_module else base)
    return found


def public_names(module: str) -> set[str]:
    """The names in a package's ``__all__`` (read from its source, not imported)."""
    path = modules().get(module)
    if path is None or path.name != "__init__.py":
        return set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and node.value:
                return {elt.value for elt in getattr(node.value, "elts", [])
                        if isinstance(elt, ast.Constant) and isinstance(elt.value, str)}
    return set()


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "harness"


def test_imports_run_one_way() -> None:
    wrong = []
    for name, path in modules().items():
        own = layer(name)
        if own in ("testing", "harness", "__main__"):
            continue
        for target in imports_of(path, name):
            other = layer(target)
            if other == "testing":
                wrong.append(f"{name} imports test support {target}")
            elif other in RANK and RANK[other] > RANK[own]:
                wrong.append(f"{name} ({own}) imports {target} ({other}), a later layer")
            elif other in APART.get(own, set()):
                wrong.append(f"{name} ({own}) imports {target} ({other}), which it must not")
    assert not wrong, "\n".join(wrong)


def test_other_packages_are_used_through_their_public_surface() -> None:
    wrong = []
    for name, path in modules().items():
        own = layer(name)
        if own == "testing":
            continue
        for target in imports_of(path, name):
            other = layer(target)
            if other in PACKAGES and other != own and target != f"harness.{other}":
                wrong.append(f"{name} imports {target}: use 'from harness.{other} import ...'")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle() -> None:
    graph = {name: imports_of(path, name) for name, path in modules().items()}
    # A package's __init__ re-exports its modules: importing the package means importing them.
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target == node or (node.startswith(target + ".") and target in graph
                                  and node in graph.get(target, ())):
                # a module importing the package that contains it (its own __init__)
                continue
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target):], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if state.get(target) is None:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if state.get(name) is None:
            visit(name)


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_names_exactly_its_public_surface(package: str) -> None:
    module = importlib.import_module(f"harness.{package}")
    tree = ast.parse((HARNESS / package / "__init__.py").read_text(encoding="utf-8"))
    bound = {alias.asname or alias.name for node in tree.body if isinstance(node, ast.ImportFrom)
             and node.module != "__future__" for alias in node.names}
    assert sorted(module.__all__) == sorted(set(module.__all__)), "__all__ repeats a name"
    assert set(module.__all__) == {name for name in bound if not name.startswith("_")}
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_modules_and_functions_stay_small() -> None:
    too_long = []
    for name, path in modules().items():
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            too_long.append(f"module {name}: {lines} lines (at most {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"function {name}.{node.name}: {length} lines "
                                    f"(at most {MAX_FUNCTION_LINES})")
    assert not too_long, "\n".join(too_long)
