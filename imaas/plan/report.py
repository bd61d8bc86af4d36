"""A plan as people read it: the resource tree (tenant, environment, resources) and counts per type."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping

from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from imaas.plan.diff import Change, by_tenant
from imaas.plan.record import Plan, PlannedResource
from imaas.spec import safety

# Past this many resources the tree shows counts per type under each component instead of every resource.
DETAIL_LIMIT = 400


def kind_of(type_: str) -> str:
    """`kubernetes:core/v1:Namespace` as `Namespace`."""
    return type_.rsplit(":", 1)[-1]


def _label(resource: PlannedResource) -> str:
    flags = "".join(
        f" [dim]{flag}[/]"
        for flag, on in (("protected", resource.protect), ("retained", resource.retainOnDelete))
        if on
    )
    return f"[cyan]{escape(kind_of(resource.type))}[/] {escape(resource.name)}{flags}"


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
            counts = Counter(kind_of(resource.type) for resource in members if resource.custom)
            for type_, count in sorted(counts.items()):
                node.add(f"[cyan]{escape(type_)}[/] x{count}")

    add(root, None)
    return root


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
        details = escape(", ".join(change.fields))
        if change.destructive:
            details = "[bold red]DELETES PROTECTED OR DATA-HOLDING RESOURCE[/]"
        elif change.retained:
            details = safety.RETAINED
        resource = change.resource
        table.add_row(marks[change.action], escape(group), escape(resource.type), escape(resource.name), details)
    return table
