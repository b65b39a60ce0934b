"""The package's four layers, read from the imports: losses <- course <- checks <- grader.

Every module of ``lossbook/`` may import only from its own layer and the layers below; no
import cycle; no lazy-import workaround (a module-level ``__getattr__``) and no ``__all__ +=``.
The imports are read from the source (``ast``), function-level ones included, so a lazy
import cannot hide an upward dependency.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lossbook"
LAYERS = {"losses": 1, "course": 2, "checks": 3, "grader": 4}
"""Layer of each sub-package: a module imports from its own layer and the ones below."""
TOP_LEVEL = {"lossbook": 1, "lossbook.functional": 1, "lossbook.__main__": 4}
"""The package's own root (imports nothing), the losses' face, and the grader's command line."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(name: str) -> int:
    if name in TOP_LEVEL:
        return TOP_LEVEL[name]
    parts = name.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        raise AssertionError(f"{name}: no layer; put it in one of {sorted(LAYERS)}")
    return LAYERS[parts[1]]


def resolve(name: str) -> str:
    """The lossbook module an import of ``name`` loads (``from pkg import attr`` -> pkg)."""
    known = modules()
    while name not in known:
        name = name.rpartition(".")[0]
    return name


def imported(name: str) -> set[str]:
    """Every lossbook module ``name`` imports, anywhere in its source (not for type checkers only).

    ``from package import submodule`` is an edge to the submodule; ``from package import name``
    one to the package. A submodule's own parent package is always loaded first, so it is
    not counted as an import of it.
    """
    path = modules()[name]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for block in ast.walk(tree):  # imports for type checkers only are not run
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            block.body = []
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {resolve(t) for t in targets if t == "lossbook" or t.startswith("lossbook.")}
    found.discard(name)
    return found


def test_every_module_has_a_layer():
    assert len(modules()) > 30
    for name in modules():
        layer(name)


@pytest.mark.parametrize("name", sorted(modules()))
def test_imports_point_down(name):
    upward = sorted(other for other in imported(name) if layer(other) > layer(name))
    assert not upward, f"{name} (layer {layer(name)}) imports from a layer above: {upward}"


def test_no_import_cycle():
    graph = {name: imported(name) for name in modules()}
    visiting, done, cycles = [], set(), []

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(visiting[visiting.index(node) :] + [node])
            return
        visiting.append(node)
        for other in sorted(graph[node]):
            visit(other)
        visiting.pop()
        done.add(node)

    for name in sorted(graph):
        visit(name)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_lazy_import_workaround_and_no_all_extension(name):
    tree = ast.parse(modules()[name].read_text())
    for node in tree.body:
        assert not (isinstance(node, ast.FunctionDef) and node.name == "__getattr__"), (
            f"{name} defines a module __getattr__ (PEP 562): import what it needs instead"
        )
        assert not (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "__all__"
        ), f"{name} extends __all__ with +=: list every name once"


def loaded_by(statement: str) -> list[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


HEAVY = ("matplotlib", "ipywidgets", "anywidget", "nbgrader", "IPython", "nbformat")


def test_importing_the_losses_loads_only_the_losses():
    loaded = loaded_by("import lossbook.functional")
    ours = [name for name in loaded if name.startswith("lossbook.")]
    assert "lossbook.functional" in ours and "lossbook.losses.regression" in ours
    above = [name for name in ours if layer(name) > 1]
    assert not above, f"import lossbook.functional loads {above}"
    heavy = [name for name in loaded if name.split(".")[0] in HEAVY]
    assert not heavy, f"import lossbook.functional loads {sorted({h.split('.')[0] for h in heavy})}"


def test_importing_the_checks_loads_no_grader():
    loaded = loaded_by("import lossbook.checks")
    assert "lossbook.course.training" in loaded
    assert not [name for name in loaded if name.startswith("lossbook.grader")]
    assert not [name for name in loaded if name.split(".")[0] == "nbgrader"]
