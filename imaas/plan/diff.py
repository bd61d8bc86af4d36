"""What a change does to a stack, resource by resource and field by field, from two plan files."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from imaas.declarations import naming, safety, types
from imaas.plan.field_diff import FieldChange, field_changes
from imaas.plan.ownership import tenant_of
from imaas.plan.record import Plan, PlannedResource

Action = Literal["add", "change", "delete"]

PLATFORM = naming.PLATFORM
"""The group of everything that belongs to no tenant (a reserved tenant name, so it never collides)."""

# The fields that decide a fence: a reviewer approving a change to another tenant's isolation must see all of
# them, however long, so a report never cuts or elides them.
FENCE_FIELDS: dict[str, tuple[str, ...]] = {
    types.NETWORK_POLICY: ("spec",),
    types.QUOTA: ("spec",),
    types.LIMIT_RANGE: ("spec",),
    types.ROLE: ("rules",),
    types.ROLE_BINDING: ("subjects", "roleRef"),
    types.CLUSTER_ROLE_BINDING: ("subjects", "roleRef"),
    types.APP_PROJECT: ("spec",),
    types.NAMESPACE: ("metadata.labels",),
    types.IAM_ROLE: ("assumeRolePolicy",),
    types.IAM_ROLE_POLICY: ("policy",),
    types.ECR_REPOSITORY_POLICY: ("policy",),
    types.GITHUB_REPOSITORY: ("archived", "visibility"),
    types.GITHUB_RULESET: ("conditions", "rules", "enforcement", "target"),
    types.GITHUB_COLLABORATORS: ("teams", "users"),
    types.GITHUB_TEAM_MEMBERS: ("members",),
}
# Options a change to which changes what the engine does with the resource. Dependencies only order the engine's
# work: a real preview shows no change for them, and neither does this diff.
OPTIONS = ("parent", "protect", "retainOnDelete")


@dataclass(frozen=True)
class Change:
    action: Action
    resource: PlannedResource
    fields: tuple[FieldChange, ...] = ()
    """For a change: every field of the inputs and options that differs."""
    hazard: str = ""
    """What the change loses that only the plan as a whole shows (a fence of a namespace that stays, a service
    stopped that is not retired), in a reviewer's words; empty when nothing."""
    decommissioned: bool = False
    """A deletion of what a decommissioned tenant had: forgotten on purpose, and left in place."""

    @cached_property
    def danger(self) -> str:
        """Why this change must not be applied, in a reviewer's words; empty when it may."""
        resource = self.resource
        losing = safety.deletes_data(resource.type, resource.protect, resource.retainOnDelete)
        what = "protected" if resource.protect else "data-holding"
        if self.decommissioned:
            return ""
        if self.action == "delete" and losing:
            return f"deletes a {what} resource"
        if self.replacing and losing:
            return f"replaces a {what} resource: {', '.join(self.replacing)} cannot change in place"
        return self.hazard

    @cached_property
    def replacing(self) -> tuple[str, ...]:
        """For a change: the changed inputs that make the provider replace the resource (delete and create)."""
        if self.action != "change":
            return ()
        paths = (field.path for field in self.fields if not field.path.startswith("("))
        return tuple(dict.fromkeys(path for path in paths if safety.forces_replacement(self.resource.type, path)))

    @property
    def destructive(self) -> bool:
        """Whether applying this loses something: a protected or data-holding resource, a fence, a running service."""
        return bool(self.danger)

    @property
    def retained(self) -> bool:
        """Whether this deletes the resource from the stack only, leaving it where it is."""
        return (
            self.action == "delete"
            and not self.destructive
            and not self.decommissioned
            and self.resource.retainOnDelete
        )

    @property
    def note(self) -> str:
        """What a reviewer must know beyond the fields: what a deletion does in the cluster."""
        if self.decommissioned:
            if self.resource.protect:
                return "decommissioned: forgotten and left in place, once a platform admin unprotects it"
            return "decommissioned: forgotten" + (" and left in place" if self.resource.retainOnDelete else "")
        if self.action == "delete" and self.resource.type == types.APPLICATION:
            return "stops the workload: Argo CD deletes what this Application deployed"
        if self.replacing:
            return f"replaces it: {', '.join(self.replacing)} cannot change in place"
        return ""

    def lines(self, limit: int = 12, width: int = 100) -> list[str]:
        """The changed fields as a reviewer reads them: the fence's in full, the others up to `limit`, cut at
        `width` characters."""
        fences = FENCE_FIELDS.get(self.resource.type, ())

        def is_fence(change: FieldChange) -> bool:
            return any(change.path == field or change.path.startswith((f"{field}.", f"{field}[")) for field in fences)

        shown = [change.line() for change in self.fields if is_fence(change)]
        others = [change for change in self.fields if not is_fence(change)]
        shown += [change.line(width) for change in others[:limit]]
        if len(others) > limit:
            shown.append(f"… and {len(others) - limit} more fields")
        return shown


@dataclass(frozen=True)
class PlanDiff:
    changes: list[Change]
    unchanged: int
    """How many resources both plans declare alike."""


def compare_plans(base: Plan, head: Plan) -> PlanDiff:
    """The changes from `base` to `head`, by URN (two plans of the same stack)."""
    before, after = base.by_urn(), head.by_urn()
    staying = _staying_namespaces(before, after)
    forgotten = {
        r.name for r in after.values() if r.type == types.TENANT and r.inputs.get("lifecycle") == "decommissioned"
    }
    changes = [
        Change(
            "delete",
            before[urn],
            hazard=_deletion_hazard(before[urn], after, staying),
            decommissioned=tenant_of(before[urn], before) in forgotten,
        )
        for urn in before.keys() - after.keys()
    ]
    changes += [Change("add", after[urn]) for urn in after.keys() - before.keys()]
    unchanged = 0
    for urn in before.keys() & after.keys():
        fields = _changed_fields(before[urn], after[urn])
        if fields:
            changes.append(Change("change", after[urn], fields))
        else:
            unchanged += 1
    return PlanDiff(sorted(changes, key=lambda change: (change.resource.urn, change.action)), unchanged)


def _staying_namespaces(before: Mapping[str, PlannedResource], after: Mapping[str, PlannedResource]) -> set[str]:
    """The namespaces that are in the cluster after the change: declared still, or protected or retained, so that
    deleting them from the program leaves them (a protected one after `up` has deleted the rest and failed)."""
    staying = [*after.values(), *(r for r in before.values() if r.protect or r.retainOnDelete)]
    return {r.inputs.get("metadata", {}).get("name") for r in staying if r.type == types.NAMESPACE}


def _deletion_hazard(resource: PlannedResource, after: Mapping[str, PlannedResource], staying: set[str]) -> str:
    """What deleting `resource` loses, judged by what stays after the change."""
    if resource.type in safety.NAMESPACE_FENCE_TYPES:
        namespace = resource.inputs.get("metadata", {}).get("namespace")
        if namespace in staying:
            return f"removes a fence of namespace '{namespace}', which stays"
    if resource.type == types.APPLICATION:
        # Its parent is the service's component, which says whether the service is retired.
        service = after.get(resource.parent or "")
        if service is None or service.inputs.get("lifecycle") != "retired":
            return "stops a service that is not retired: Argo CD deletes what this Application deployed"
    return ""


def diff_plans(base: Plan, head: Plan) -> list[Change]:
    return compare_plans(base, head).changes


def _changed_fields(old: PlannedResource, new: PlannedResource) -> tuple[FieldChange, ...]:
    inputs = tuple(field_changes(old.inputs, new.inputs))
    options = tuple(
        FieldChange(f"({key})", "change", old=getattr(old, key), new=getattr(new, key))
        for key in OPTIONS
        if getattr(old, key) != getattr(new, key)
    )
    return (*inputs, *options)


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
