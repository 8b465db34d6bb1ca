"""The library's layers import downward only, lazy imports inside functions included: a module may import its own
layer and the ones below it. ARCHITECTURE.md draws the same layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_triton"

# Bottom first. A name is a top-level module or subpackage of pytest_triton.
LAYERS = (
    ("kinds", "errors", "atomic_write", "turns", "ordered_requests", "units"),
    ("models", "baselines"),
    ("export", "squad", "images"),
    ("server",),
    ("repository",),
    ("perf",),
    ("checks",),
    ("settings", "variants", "launch_modes", "session"),
    ("results_log", "report"),
    ("search",),
    ("options", "outcomes", "hookspecs", "plugin", "suites"),
    ("offline",),
)
LAYER = {name: index for index, names in enumerate(LAYERS) for name in names}


def _unit(dotted: str) -> str:
    """pytest_triton.perf.load -> perf; pytest_triton -> "" (the package itself: nothing to import)."""
    return dotted.split(".")[1] if "." in dotted else ""


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pytest_triton."):
            found.add(_unit(node.module))
        elif isinstance(node, ast.Import):
            found |= {_unit(a.name) for a in node.names if a.name.startswith("pytest_triton.")}
    return found - {""}


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_only(path: Path):
    source = _unit("pytest_triton." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    assert source in LAYER, f"{source} is in no layer: add it to LAYERS (and to ARCHITECTURE.md)"
    upward = sorted(t for t in _imports(path) if LAYER.get(t, len(LAYERS)) > LAYER[source])
    assert not upward, f"{path.relative_to(PACKAGE)} ({source}) imports layers above its own: {upward}"
