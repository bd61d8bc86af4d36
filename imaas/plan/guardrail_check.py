"""The guardrails applied to an offline plan, as `imaas plan` does before it reports success."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
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


def write_violations(path: Path, violations: list[Violation]) -> None:
    """A plan's findings, as a fleet plan keeps them for the diff's review of the same plan (read_violations): the
    guardrails judge a stack once per check, not again for each of its reports."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([asdict(violation) for violation in violations], indent=1) + "\n")


def read_violations(path: Path) -> list[Violation]:
    """What write_violations wrote (ValueError if it is not that)."""
    found = json.loads(path.read_text())
    if not isinstance(found, list):
        raise ValueError(f"{path}: not a list of guardrail findings")
    return [
        Violation(str(item["policy"]), str(item["urn"]), str(item["message"]), item["mandatory"] is True)
        for item in found
    ]
