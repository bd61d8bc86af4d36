"""`imaas diff --format markdown`: what a change does, as a pull-request comment or a CI job summary.

Pure functions over the changes of `imaas.plan.diff`: the same changes always give the same text, whatever order
they come in. The text has a header with the counts, a warning at the top when a protected or data-holding
resource would be deleted (the check fails), and one compact table per tenant, then one for the platform's shared
resources. A group with changes or deletions is shown open; a group that only adds resources is folded.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from imaas.plan.diff import PLATFORM, Change, by_tenant
from imaas.plan.record import PlannedResource
from imaas.plan.report import kind_of
from imaas.spec import safety, types

ACTION_WORDS = {"add": "added", "change": "changed", "delete": "deleted"}
# Within a group: what needs a reviewer's eyes first.
ACTION_ORDER = {"delete": 0, "change": 1, "add": 2}


def diff_markdown(
    changes: Iterable[Change],
    *,
    stack: str | None = None,
    resources: Mapping[str, PlannedResource] | None = None,
) -> str:
    """The Markdown report of `changes`.

    `resources` (by URN: the resources of both plans) lets a resource be placed under its tenant through its
    parents when it carries no tenant label itself; without it only the changed resources are looked at.
    """
    changes = sorted(changes, key=_change_key)
    title = f"Offline plan diff: stack `{stack}`" if stack else "Offline plan diff"
    lines = [f"### {title}", "", f"**{_counts(changes)}**{_retained_note(changes)}", ""]
    if not changes:
        lines += ["No resource is added, changed or deleted.", ""]
        return "\n".join(lines)

    groups = by_tenant(changes, resources or {})
    order = list(groups)

    destructive = [(group, change) for group in order for change in groups[group] if change.destructive]
    if destructive:
        count = len(destructive)
        lines += [
            "> [!CAUTION]",
            f"> ⚠️ **{count} protected or data-holding resource{'s' * (count != 1)} would be deleted.** This check "
            "fails: keep the tenant or service in its file and set `lifecycle: retired` instead of removing it.",
            ">",
        ]
        for group, change in destructive:
            resource = change.resource
            lines.append(f"> - {_group_name(group)}: {_code(short_type(resource.type))} {_code(resource.name)}")
        lines.append("")
    for group in order:
        lines += _group_lines(group, groups[group])
    return "\n".join(lines)


def short_type(type_: str) -> str:
    """A type as package and kind: `kubernetes:core/v1:Namespace` as `kubernetes:Namespace`."""
    if type_.startswith(types.PROVIDER_PREFIX):
        return f"provider:{type_.removeprefix(types.PROVIDER_PREFIX)}"
    package, _, rest = type_.partition(":")
    return f"{package}:{kind_of(rest)}" if rest else type_


def _change_key(change: Change) -> tuple[int, str, str, str]:
    resource = change.resource
    return (ACTION_ORDER[change.action], short_type(resource.type), resource.name, resource.urn)


def _counts(changes: list[Change], *, zeros: bool = True) -> str:
    total = {action: sum(change.action == action for change in changes) for action in ACTION_WORDS}
    return ", ".join(f"{total[action]} {word}" for action, word in ACTION_WORDS.items() if zeros or total[action])


def _retained_note(changes: list[Change]) -> str:
    count = sum(change.retained for change in changes)
    return f" ({count} deleted from the stack but left in place by retainOnDelete)" if count else ""


def _group_name(group: str) -> str:
    return "platform" if group == PLATFORM else f"tenant {_code(group)}"


def _group_lines(group: str, changes: list[Change]) -> list[str]:
    title = "Platform (shared resources)" if group == PLATFORM else f"Tenant <code>{html.escape(group)}</code>"
    folded = all(change.action == "add" for change in changes)
    lines = [
        "<details>" if folded else "<details open>",
        f"<summary><b>{title}</b>: {_counts(changes, zeros=False)}</summary>",
        "",
        "| | type | name | details |",
        "| --- | --- | --- | --- |",
    ]
    for change in changes:
        resource = change.resource
        cells = (ACTION_WORDS[change.action], _code(short_type(resource.type)), _code(resource.name), _details(change))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, "", "</details>", ""]


def _details(change: Change) -> str:
    resource = change.resource
    if change.destructive:
        what = "protected" if resource.protect else "data-holding"
        return f"⚠️ **deletes a {what} resource**"
    if change.retained:
        return safety.RETAINED
    if change.action == "change":
        return ", ".join(_code(field) for field in change.fields)
    return ""


def _code(text: str) -> str:
    """`text` as an inline code span that is safe inside a table cell."""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{text}{padding}{fence}"
