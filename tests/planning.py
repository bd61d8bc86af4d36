"""Helpers for running the real program under Pulumi's mocks, once per stack and tenant set."""

from __future__ import annotations

import functools
from pathlib import Path

from imaas.engine.run import run_program
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan, PlannedResource

PROJECT_DIR = Path(__file__).resolve().parent.parent
EXAMPLE_TENANTS = PROJECT_DIR / "tenants"


def plan_stack(stack: str, tenants: Path | None = None, **settings: object) -> Plan:
    """The plan of `stack` with its Pulumi.<stack>.yaml settings, optionally another tenants folder and settings."""
    import json

    stack_file = read_stack_file(PROJECT_DIR, stack)
    config = dict(stack_file.config)
    if tenants is not None:
        config["imaas:tenantsDir"] = str(tenants)
    for key, value in settings.items():
        config[f"imaas:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return run_program(PROJECT_DIR, stack, config, stack_file.secret_keys)


@functools.cache
def example_plan(stack: str) -> Plan:
    return plan_stack(stack)


def of_type(plan: Plan, type_: str) -> list[PlannedResource]:
    return [resource for resource in plan.resources if resource.type == type_]


def tenant_yaml(name: str, **spec: object) -> str:
    """A valid tenant file; `spec` entries are added or replaced (as YAML flow values via JSON)."""
    import json

    lines = {
        "team": '{"maintainers": ["alice"]}',
        **{key: json.dumps(value) for key, value in spec.items()},
    }
    body = "\n".join(f"  {key}: {value}" for key, value in lines.items())
    return (
        "apiVersion: imaas.io/v1alpha1\nkind: Tenant\n"
        f"metadata:\n  name: {name}\n  contact: {name}@example.com\nspec:\n{body}\n"
    )


def write_tenants(directory: Path, **tenants: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, spec in tenants.items():
        (directory / f"{name.replace('_', '-')}.yaml").write_text(tenant_yaml(name.replace("_", "-"), **spec))
    return directory
