"""The guardrails applied to an offline plan, as `imaas plan` does before it reports success."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
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


@dataclass(frozen=True)
class Findings:
    """A plan's guardrail findings, as a fleet plan keeps them for the diff's review of the same plan: the guardrails
    judge a stack once per check, not again for each of its reports. `stack` and `plan_sha256` (of the plan file's
    bytes, imaas.plan.record.file_digest) name the plan judged, so that a stale or another plan's file is refused."""

    stack: str
    plan_sha256: str
    violations: list[Violation]


def write_findings(path: Path, findings: Findings) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(findings), indent=1) + "\n")


def read_findings(path: Path) -> Findings:
    """What write_findings wrote (ValueError, KeyError or TypeError if it is not that)."""
    found = json.loads(path.read_text())
    if not isinstance(found, dict) or not isinstance(found["violations"], list):
        raise ValueError(f"{path}: not a plan's guardrail findings")
    violations = [
        Violation(str(item["policy"]), str(item["urn"]), str(item["message"]), item["mandatory"] is True)
        for item in found["violations"]
    ]
    return Findings(str(found["stack"]), str(found["plan_sha256"]), violations)
