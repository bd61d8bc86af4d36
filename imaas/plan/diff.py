"""What a change does to a stack, resource by resource, from two plan files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from imaas.plan.ownership import tenant_of
from imaas.plan.record import Plan, PlannedResource
from imaas.spec import naming, safety

Action = Literal["add", "change", "delete"]

PLATFORM = naming.PLATFORM
"""The group of everything that belongs to no tenant (a reserved tenant name, so it never collides)."""


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
        return self.action == "delete" and safety.deletes_data(resource.type, resource.protect, resource.retainOnDelete)

    @property
    def retained(self) -> bool:
        """Whether this deletes the resource from the stack only, leaving it where it is."""
        return self.action == "delete" and not self.destructive and self.resource.retainOnDelete


def diff_plans(base: Plan, head: Plan) -> list[Change]:
    """The changes from `base` to `head`, by URN. When either is a partial plan, only the tenants it covers and
    the shared resources are compared: the tenants it leaves out are not deleted, just not planned."""
    scope = {*(base.only or []), *(head.only or [])} if base.only is not None or head.only is not None else None
    before, after = _in_scope(base, scope), _in_scope(head, scope)
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


def _in_scope(plan: Plan, tenants: set[str] | None) -> dict[str, PlannedResource]:
    resources = plan.by_urn()
    if tenants is None:
        return resources
    return {urn: resource for urn, resource in resources.items() if tenant_of(resource, resources) in (None, *tenants)}


def by_tenant(changes: Iterable[Change], resources: Mapping[str, PlannedResource]) -> dict[str, list[Change]]:
    """The changes under the tenant each belongs to, tenants in name order and the platform's own last.

    `resources` (by URN: the resources of both plans) places a resource under its tenant through its parents."""
    known = dict(resources)
    changes = list(changes)
    for change in changes:
        known.setdefault(change.resource.urn, change.resource)
    groups: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        groups[tenant_of(change.resource, known) or PLATFORM].append(change)
    return {group: groups[group] for group in sorted(groups, key=lambda group: (group == PLATFORM, group))}
