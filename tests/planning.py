"""Helpers for running the real program under Pulumi's mocks, once per stack and tenant set."""

from __future__ import annotations

import functools
from pathlib import Path

from imaas.engine.run import run_program
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan, PlannedResource

PROJECT_DIR = Path(__file__).resolve().parent.parent
FIXTURE_TENANTS = Path(__file__).resolve().parent / "fixtures" / "tenants"
"""The tests' own tenant set (never the shipped `tenants/`, which onboarding pull requests change)."""


def plan_stack(stack: str, tenants: Path = FIXTURE_TENANTS, **settings: object) -> Plan:
    """The plan of `stack` with its Pulumi.<stack>.yaml settings, for a tenants folder and optional settings."""
    import json

    stack_file = read_stack_file(PROJECT_DIR, stack)
    config = dict(stack_file.config)
    config["imaas:tenantsDir"] = str(tenants)
    for key, value in settings.items():
        config[f"imaas:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return run_program(PROJECT_DIR, stack, config, stack_file.secret_keys)


@functools.cache
def example_plan(stack: str) -> Plan:
    """The plan of the fixture tenants, computed once per stack."""
    return plan_stack(stack)


def of_type(plan: Plan, type_: str) -> list[PlannedResource]:
    return [resource for resource in plan.resources if resource.type == type_]
