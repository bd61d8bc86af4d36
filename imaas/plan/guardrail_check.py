"""The guardrails applied to an offline plan, as `imaas plan` does before it reports success."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from imaas.guardrails import Context as Context  # re-exported: the engine's fleet judges through this layer
from imaas.guardrails import Resource, Violation, evaluate
from imaas.guardrails import stack_context as stack_context
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


def check_plan(
    plan: Plan, stack_file: StackFile, tenants_dir: Path, cluster_context: Context | None = None
) -> list[Violation]:
    """The plan's violations; `cluster_context`, the context of its cluster's stacks, to reuse (the fleet)."""
    stack = StackName.parse(plan.stack)
    context = (
        stack_context(stack_file, tenants_dir, stack)
        if cluster_context is None
        else replace(cluster_context, stack=stack)
    )
    return evaluate([as_resource(resource) for resource in plan.resources], context)
