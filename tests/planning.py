"""Helpers for running the real program under Pulumi's mocks, once per stack and tenant set."""

from __future__ import annotations

import functools
from pathlib import Path

from typer.testing import CliRunner

from imaas import cli
from imaas.engine.run import run_program
from imaas.inputs.stack_file import SECRET_SETTINGS, read_stack_file
from imaas.plan.record import Plan, PlannedResource

PROJECT_DIR = Path(__file__).resolve().parent.parent
FIXTURE_TENANTS = Path(__file__).resolve().parent / "fixtures" / "tenants"
"""The tests' own tenant set (never the shipped `tenants/`, which onboarding pull requests change)."""


def plan_stack(
    stack: str, tenants: Path = FIXTURE_TENANTS, *, whole_cluster: bool | None = None, **settings: object
) -> Plan:
    """The plan of `stack` with its cluster's Pulumi.<cluster>.yaml settings, for a tenants folder and optional
    settings (by key without the `imaas:` namespace; None removes a setting the stack file has).

    A cluster's name plans the whole cluster as one stack (its shared stack and every tenant stack together, which
    tests/test_tenant_stacks.py proves the same as the separate stacks but for the stack's name), unless
    `whole_cluster=False` asks for the shared stack alone; `<cluster>.<tenant>` plans a tenant stack."""
    import json

    stack_file = read_stack_file(PROJECT_DIR, stack)
    config = dict(stack_file.config)
    config["imaas:tenantsDir"] = str(tenants)
    for key, value in settings.items():
        if value is None:
            config.pop(f"imaas:{key}", None)
            continue
        config[f"imaas:{key}"] = value if isinstance(value, str) else json.dumps(value)
    # Settings that must be secrets are given as `pulumi config set --secret` would store them.
    secret_keys = [*stack_file.secret_keys, *(key for key in SECRET_SETTINGS if key in config)]
    whole = "." not in stack if whole_cluster is None else whole_cluster
    return run_program(PROJECT_DIR, stack, config, secret_keys, whole_cluster=whole)


@functools.cache
def example_plan(stack: str) -> Plan:
    """The plan of the fixture tenants, computed once per stack (a cluster's name: the whole cluster, as above)."""
    return plan_stack(stack)


def of_type(plan: Plan, type_: str) -> list[PlannedResource]:
    return [resource for resource in plan.resources if resource.type == type_]


def plan_command(stack: str, out: Path) -> str:
    """`imaas plan` on the fixture tenants, as a user runs it, writing `out/plan.json` and `out/manifests`; its
    output, once it exited 0."""

    arguments = [
        "--tenants",
        str(FIXTURE_TENANTS),
        "--json",
        str(out / "plan.json"),
        "--render",
        str(out / "manifests"),
    ]
    # A cluster's name: the whole cluster as one stack, as plan_stack plans it.
    whole = ["--whole-cluster"] if "." not in stack else []
    result = CliRunner().invoke(cli.app, ["plan", "--stack", stack, *whole, *arguments])
    assert result.exit_code == 0, result.output
    return result.output
