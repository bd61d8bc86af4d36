"""The layers of `imaas` and the Pulumi boundary, checked by package: a module may import only the layers beneath
its own, and only the engine may import Pulumi or the components; and the components hold no fence data of their
own: what they declare is written in imaas/declarations, and they only create resources from it."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT_DIR / "imaas"
COMPONENTS = PROJECT_DIR / "components"
# Each layer of imaas and the layers it may import (itself included).
MAY_IMPORT: dict[str, set[str]] = {
    # The models of what people write (tenant files, stack settings): no I/O.
    "model": {"model"},
    # From files to models, with positions: YAML, tenant and stack files, git revisions, GitHub's member list.
    "inputs": {"model", "inputs"},
    # Programs that run inside the cluster (each pod runs its files as its ConfigMap holds them): the standard
    # library and each other only.
    "incluster": {"incluster"},
    # What the platform declares, as plain data (object bodies, rule tables, names); it ships incluster's sources.
    "declarations": {"model", "declarations", "incluster"},
    # The rules of the inputs beyond one field: across tenant files, against the base revision, across stacks.
    "checks": {"model", "inputs", "declarations", "checks"},
    # The rules of the planned resources (DESIGN section 6), for the offline plan and the policy pack alike.
    "guardrails": {"model", "inputs", "declarations", "checks", "guardrails"},
    # The plan JSON and what reads it: its record, diff, review, report and guardrail check; it runs no program.
    "plan": {"model", "inputs", "declarations", "guardrails", "plan"},
    # The program run under Pulumi's mocks: the one layer that imports Pulumi and the components.
    "engine": {"model", "inputs", "declarations", "plan", "engine"},
    # What the repository's own CI needs: the stacks to run, who must approve.
    "ci": {"model", "inputs", "checks", "ci"},
    # Publishing the service template as versions, syncing services to it.
    "template": {"inputs", "template"},
    # Reads a live cluster, declares nothing: never Pulumi.
    "preflight": {"model", "inputs", "preflight"},
    # The command line, one module per command.
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
    # The generated reference in docs/ and schema/ (imaas/docs/), from the code it documents.
    "docs": {"model", "declarations", "checks", "guardrails", "docs"},
    "__main__": {"cli"},
}
# The Pulumi program's components (components/, outside the package): the layers of imaas they create resources from
# and read their inputs with. Never the plan, the guardrails or the command line, which read what they declare.
COMPONENTS_MAY_IMPORT = {"model", "inputs", "checks", "declarations", "incluster"}
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


@pytest.mark.fast
@pytest.mark.parametrize("path", sorted(COMPONENTS.glob("*.py")), ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_a_component_imports_only_what_it_declares_from(path: Path) -> None:
    for name in imported(path):
        parts = name.split(".")
        if parts[0] == "imaas" and len(parts) > 1:
            assert parts[1] in COMPONENTS_MAY_IMPORT, f"{path.name} imports {name}"


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


# Fields of the objects that fence a tenant (roles and their rules, network policies, quota and limits, the AppProject
# and Applications, the pod monitor, the branch rulesets), in the objects' own spelling: a component that writes one
# out, as a dict key or as the keyword of an SDK's argument with a literal value, is writing fence data where only
# wiring belongs. A keyword whose value comes from elsewhere (a name, an attribute, a call) is wiring.
FENCE_FIELDS = frozenset(
    {
        "apiGroups",
        "verbs",
        "podSelector",
        "namespaceSelector",
        "policyTypes",
        "ipBlock",
        "hard",
        "defaultRequest",
        "sourceRepos",
        "destinations",
        "clusterResourceWhitelist",
        "namespaceResourceBlacklist",
        "orphanedResources",
        "syncPolicy",
        "podMetricsEndpoints",
        "nonFastForward",
        "allowedMergeMethods",
        "doNotEnforceOnCreate",
        "actorType",
    }
)
REFERENCES = (ast.Name, ast.Attribute, ast.Call, ast.Subscript)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def fence_fields(path: Path) -> list[str]:
    """The fence fields `path` writes out, each with its line."""
    spellings = FENCE_FIELDS | {_snake(field) for field in FENCE_FIELDS}
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            keys = [key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str)]
            found += [f"line {node.lineno}: {key!r}" for key in keys if key in FENCE_FIELDS]
        elif isinstance(node, ast.Call):
            found += [
                f"line {node.lineno}: {keyword.arg}="
                for keyword in node.keywords
                if keyword.arg in spellings and not isinstance(keyword.value, REFERENCES)
            ]
    return found


@pytest.mark.fast
@pytest.mark.parametrize("path", sorted(COMPONENTS.glob("*.py")), ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_a_component_writes_no_fence_data(path: Path) -> None:
    """Fence data lives in imaas/declarations, free of Pulumi, where the guardrails, the policy pack and the tests
    read the same definition the components declare."""
    assert fence_fields(path) == []
