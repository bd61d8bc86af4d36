"""A plan as people read it: the resource tree (tenant, environment, resources) and counts per type."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from imaas.declarations import naming, safety, types
from imaas.guardrails import Violation
from imaas.plan.diff import Change, by_tenant
from imaas.plan.ownership import tenant_of
from imaas.plan.record import Plan, PlannedResource

# Past this many resources the tree shows counts per type under each component instead of every resource.
DETAIL_LIMIT = 400


def kind_of(type_: str) -> str:
    """`kubernetes:core/v1:Namespace` as `Namespace`."""
    return type_.rsplit(":", 1)[-1]


def short_type(type_: str) -> str:
    """A type as package and kind: `kubernetes:core/v1:Namespace` as `kubernetes:Namespace`."""
    if type_.startswith(types.PROVIDER_PREFIX):
        return f"provider:{type_.removeprefix(types.PROVIDER_PREFIX)}"
    package, _, rest = type_.partition(":")
    return f"{package}:{kind_of(rest)}" if rest else type_


def _label(resource: PlannedResource) -> str:
    flags = "".join(
        f" [dim]{flag}[/]"
        for flag, on in (("protected", resource.protect), ("retained", resource.retainOnDelete))
        if on
    )
    return f"[cyan]{escape(kind_of(resource.type))}[/] {escape(resource.name)}{flags}"


def _compact(resource: PlannedResource) -> tuple[str, bool, bool]:
    return short_type(resource.type), resource.protect, resource.retainOnDelete


def plan_tree(plan: Plan) -> Tree:
    children: dict[str | None, list[PlannedResource]] = defaultdict(list)
    for resource in plan.resources:
        children[resource.parent].append(resource)
    detailed = len(plan.resources) <= DETAIL_LIMIT
    root = Tree(f"[bold]{escape(plan.project)}[/] stack [bold]{escape(plan.stack)}[/]")

    def add(node: Tree, parent: str | None) -> None:
        # Components first, then the namespace that holds the rest, then the rest by type.
        members = sorted(
            children[parent],
            key=lambda resource: (
                resource.custom,
                kind_of(resource.type) != "Namespace",
                resource.type,
                resource.name,
            ),
        )
        for resource in members:
            if not resource.custom:
                add(
                    node.add(f"[bold]{escape(resource.name)}[/] [dim]{escape(kind_of(resource.type))}[/]"),
                    resource.urn,
                )
            elif detailed:
                node.add(_label(resource))
        if not detailed:
            # By package and kind (an ECR and a GitHub repository are not the same), with the flags counted.
            counts = Counter(_compact(resource) for resource in members if resource.custom)
            for (type_, protected, retained), count in sorted(counts.items()):
                flags = "".join(
                    f" [dim]{word}[/]" for word, on in (("protected", protected), ("retained", retained)) if on
                )
                node.add(f"[cyan]{escape(type_)}[/] x{count}{flags}")

    add(root, None)
    return root


def tenant_summary(plan: Plan) -> Table:
    """Resources per tenant (the platform's own last) and type: the short form of a large plan."""
    resources = plan.by_urn()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for resource in plan.resources:
        if resource.custom:
            counts[tenant_of(resource, resources) or naming.PLATFORM][short_type(resource.type)] += 1
    table = Table(title=f"{len(plan.resources)} resources by tenant", title_justify="left")
    for column in ("tenant", "resources", "by type"):
        table.add_column(column, overflow="fold")
    for group in sorted(counts, key=lambda group: (group == naming.PLATFORM, group)):
        by_type = ", ".join(f"{type_} {count}" for type_, count in sorted(counts[group].items()))
        table.add_row(escape(group), str(sum(counts[group].values())), escape(by_type))
    return table


def summary_table(plan: Plan) -> Table:
    table = Table(title=f"{len(plan.resources)} resources", title_justify="left")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, count in sorted(Counter(resource.type for resource in plan.resources).items()):
        table.add_row(escape(type_), str(count))
    return table


def changes_table(changes: list[Change], resources: Mapping[str, PlannedResource]) -> Table:
    """The changes as a table, grouped by tenant (see `by_tenant` for `resources`)."""
    table = Table(title=f"{len(changes)} changes", title_justify="left")
    for column in ("", "tenant", "type", "name", "details"):
        table.add_column(column, overflow="fold")
    marks = {"add": "[green]+[/]", "change": "[yellow]~[/]", "delete": "[red]-[/]"}
    rows = [(group, change) for group, grouped in by_tenant(changes, resources).items() for change in grouped]
    for group, change in rows:
        details = escape("\n".join([change.note, *change.lines()] if change.note else change.lines()))
        if change.destructive:
            details = f"[bold red]{escape(change.danger.upper())}[/]"
        elif change.retained:
            details = safety.RETAINED
        resource = change.resource
        table.add_row(marks[change.action], escape(group), escape(resource.type), escape(resource.name), details)
    return table


def violation_line(violation: Violation, resources: Mapping[str, PlannedResource]) -> str:
    """A guardrail's finding as a reviewer reads it: the rule, the tenant, the resource by type and name."""
    resource = resources.get(violation.urn)
    if resource is None:
        return str(violation)
    tenant = tenant_of(resource, resources)
    owner = f"tenant {tenant}" if tenant else "platform"
    return f"{violation.policy}: {owner}: {short_type(resource.type)} {resource.name}: {violation.message}"
