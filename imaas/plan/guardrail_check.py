"""The guardrails applied to an offline plan, as `imaas plan` does before it reports success."""

from __future__ import annotations

from pathlib import Path

from imaas.guardrails import Resource, Violation, evaluate, stack_context
from imaas.inputs.stack_file import StackFile, StackName
from imaas.plan.record import Plan, PlannedResource


def as_resource(planned: PlannedResource) -> Resource:
    return Resource(
        urn=planned.urn,
        type=planned.type,
        name=planned.name,
        inputs=planned.inputs,
        protect=planned.protect,
        retain_on_delete=planned.retainOnDelete,
        depends_on=tuple(planned.dependsOn),
    )


def check_plan(plan: Plan, stack_file: StackFile, tenants_dir: Path) -> list[Violation]:
    context = stack_context(stack_file, tenants_dir, StackName.parse(plan.stack))
    return evaluate([as_resource(resource) for resource in plan.resources], context)
