"""What a change does to a stack, resource by resource, from two plan files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from imaas.plan.record import Plan, PlannedResource

# Deleting one of these loses what tenants built or stored in it.
DATA_HOLDING_TYPES = frozenset(
    {
        "kubernetes:core/v1:Namespace",
        "kubernetes:core/v1:PersistentVolumeClaim",
        "aws:ecr/repository:Repository",
        "github:index/repository:Repository",
    }
)

Action = Literal["add", "change", "delete"]


@dataclass(frozen=True)
class Change:
    action: Action
    resource: PlannedResource
    fields: tuple[str, ...] = ()
    """For a change: the top-level inputs and options that differ."""

    @property
    def destructive(self) -> bool:
        """Whether applying this deletes something that must not go: protected, or holding data and not retained."""
        resource = self.resource
        if self.action != "delete":
            return False
        return resource.protect or (resource.type in DATA_HOLDING_TYPES and not resource.retainOnDelete)


def diff_plans(base: Plan, head: Plan) -> list[Change]:
    before, after = base.by_urn(), head.by_urn()
    changes = [Change("delete", before[urn]) for urn in before.keys() - after.keys()]
    changes += [Change("add", after[urn]) for urn in after.keys() - before.keys()]
    for urn in before.keys() & after.keys():
        fields = _changed_fields(before[urn], after[urn])
        if fields:
            changes.append(Change("change", after[urn], fields))
    return sorted(changes, key=lambda change: (change.resource.urn, change.action))


def _changed_fields(old: PlannedResource, new: PlannedResource) -> tuple[str, ...]:
    inputs = [
        f"inputs.{key}"
        for key in sorted(old.inputs.keys() | new.inputs.keys())
        if old.inputs.get(key) != new.inputs.get(key)
    ]
    options = [
        key for key in ("parent", "protect", "retainOnDelete", "dependsOn") if getattr(old, key) != getattr(new, key)
    ]
    return (*inputs, *options)
