"""The layers of `imaas` and the Pulumi boundary, checked by package: a module may import only the layers beneath
its own, and only the engine may import Pulumi or the components."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT_DIR / "imaas"
# Each layer of imaas and the layers it may import (itself included).
MAY_IMPORT: dict[str, set[str]] = {
    "model": {"model"},
    "inputs": {"model", "inputs"},
    # Programs that run inside the cluster (each pod runs its files as its ConfigMap holds them): the standard
    # library and each other only.
    "incluster": {"incluster"},
    "declarations": {"model", "declarations", "incluster"},
    "checks": {"model", "inputs", "declarations", "checks"},
    "guardrails": {"model", "inputs", "declarations", "checks", "guardrails"},
    "plan": {"model", "inputs", "declarations", "guardrails", "plan"},
    "engine": {"model", "inputs", "declarations", "plan", "engine"},
    "ci": {"model", "inputs", "checks", "ci"},
    "template": {"inputs", "template"},
    # Reads a live cluster, declares nothing: never Pulumi.
    "preflight": {"model", "inputs", "preflight"},
    "cli": {
        "model",
        "inputs",
        "declarations",
        "checks",
        "guardrails",
        "plan",
        "engine",
        "ci",
        "template",
        "preflight",
        "cli",
    },
    "docs": {"model", "declarations", "checks", "guardrails", "docs"},
    "__main__": {"cli"},
}
PULUMI_SIDE = ("pulumi", "pulumi_aws", "pulumi_github", "pulumi_kubernetes", "pulumi_policy", "components")


def layer_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "imaas":
                names |= {f"imaas.{alias.name}" for alias in node.names}
    return names


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py" or path.parent != PACKAGE)


@pytest.mark.fast
def test_every_module_belongs_to_a_known_layer() -> None:
    assert {layer_of(path) for path in MODULES} <= MAY_IMPORT.keys()


@pytest.mark.fast
@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_a_module_imports_only_the_layers_beneath_it(path: Path) -> None:
    layer = layer_of(path)
    for name in imported(path):
        parts = name.split(".")
        if parts[0] == "imaas" and len(parts) > 1:
            assert parts[1] in MAY_IMPORT[layer], f"{path.name} ({layer}) imports {name}"
        if parts[0] in PULUMI_SIDE:
            assert layer == "engine", f"{path.name} ({layer}) imports {name}: only imaas.engine may import Pulumi"


@pytest.mark.slow
def test_nothing_outside_the_engine_loads_pulumi_at_run_time() -> None:
    """The static check above, confirmed by importing every other module and looking at what got loaded."""
    modules = [
        ".".join(path.relative_to(PROJECT_DIR).with_suffix("").parts).removesuffix(".__init__")
        for path in MODULES
        if layer_of(path) not in ("engine", "__main__")
    ]
    code = (
        f"import sys; [__import__(m) for m in {modules!r}]; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {PULUMI_SIDE!r}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
