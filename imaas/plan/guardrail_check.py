"""The guardrails applied to an offline plan, as `imaas plan` does before it reports success."""

from __future__ import annotations

from pathlib import Path

from imaas.guardrails import Context, Resource, Violation, evaluate
from imaas.loader import load_tenants
from imaas.plan.record import Plan, PlannedResource
from imaas.stack_file import StackFile


def as_resource(planned: PlannedResource) -> Resource:
    return Resource(
        urn=planned.urn,
        type=planned.type,
        name=planned.name,
        inputs=planned.inputs,
        protect=planned.protect,
        retain_on_delete=planned.retainOnDelete,
    )


def check_plan(plan: Plan, stack_file: StackFile, tenants_dir: Path) -> list[Violation]:
    settings = stack_file.settings
    tenants = load_tenants(tenants_dir, settings)
    context = Context(
        settings=settings,
        tenants={tenant.name: tenant for tenant in tenants},
        github_owner=stack_file.config.get("github:owner", ""),
    )
    return evaluate([as_resource(resource) for resource in plan.resources], context)
