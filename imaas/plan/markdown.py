"""`imaas diff --format markdown`: what a change does, as a pull-request comment or a CI job summary.

Pure functions over the changes of `imaas.plan.diff`: the same changes always give the same text, whatever order
they come in. The text has a header with the counts, a warning at the top when a protected or data-holding
resource would be deleted (the check fails), and one table per tenant, then one for the platform's shared
resources; a changed resource shows each changed field with its old and new value. Tenants that are only added
(an onboarding, or a new stack) take one line each, so that a report of any size stays readable; and when the
report would pass its budget of characters (GitHub takes 1 MiB in a job summary and 65,536 characters in a
comment), the tenants past it also take one line each, and the report says where the whole of it is.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Mapping

from imaas.plan.diff import PLATFORM, Change, by_tenant
from imaas.plan.record import PlannedResource
from imaas.plan.report import short_type
from imaas.spec import safety

ACTION_WORDS = {"add": "added", "change": "changed", "delete": "deleted"}
# Within a group: what needs a reviewer's eyes first.
ACTION_ORDER = {"delete": 0, "change": 1, "add": 2}
FULL_REPORT = "the whole report is in the run's `plan-diff` artifact"


def diff_markdown(
    changes: Iterable[Change],
    *,
    stack: str | None = None,
    resources: Mapping[str, PlannedResource] | None = None,
    unchanged: int | None = None,
    budget: int | None = None,
) -> str:
    """The Markdown report of `changes`.

    `resources` (by URN: the resources of both plans) lets a resource be placed under its tenant through its
    parents when it carries no tenant label itself; without it only the changed resources are looked at.
    `unchanged` is how many resources stay as they are; `budget`, the most characters the report may take.
    """
    changes = sorted(changes, key=_change_key)
    title = f"Offline plan diff: stack `{stack}`" if stack else "Offline plan diff"
    counts = _counts(changes) + (f", {unchanged} unchanged" if unchanged is not None else "")
    lines = [f"### {title}", "", f"**{counts}**{_retained_note(changes)}", ""]
    if not changes:
        lines += ["No resource is added, changed or deleted.", ""]
        return "\n".join(lines)

    groups = by_tenant(changes, resources or {})
    lines += _caution(groups)
    lines += _unprotect_first(changes)
    added_only = [group for group, grouped in groups.items() if all(change.action == "add" for change in grouped)]
    detailed = [group for group in groups if group not in added_only]
    if budget is None:
        for group in detailed:
            lines += _group_lines(group, groups[group])
        return "\n".join([*lines, *_added_lines(added_only, groups)])
    # What the sections may take: the budget, less the header, the one-line groups, a line for each group that
    # might be cut, and the lines that end a cut.
    added = _added_lines(added_only, groups)
    reserved = len("\n".join([*lines, *added, *_cut_note(detailed, groups)])) + 200
    room = budget - reserved
    cut: list[str] = []
    for group in detailed:
        section = _group_lines(group, groups[group])
        size = len("\n".join(section)) + 1
        if cut or size > room:
            cut.append(group)
            continue
        lines += section
        room -= size
    # The rest of the budget is the tail's, which `_fit` still cuts should the budget be tiny.
    return "\n".join([*lines, *_fit(_cut_note(cut, groups) + added, budget - len("\n".join(lines)) - 1)])


def _unprotect_first(changes: list[Change]) -> list[str]:
    """Decommissioning forgets protected resources, which `pulumi up` refuses until a platform admin lifts the
    protection: say so before anyone deploys it."""
    protected = [change for change in changes if change.decommissioned and change.resource.protect]
    if not protected:
        return []
    return [
        "> [!IMPORTANT]",
        f"> {len(protected)} protected resource{'s' * (len(protected) != 1)} of decommissioned tenants: before this "
        "is deployed, a platform admin runs `pulumi state unprotect` on each (docs/operators.md, Decommissioning a "
        "tenant); they are then forgotten and left in place.",
        "",
    ]


def _cut_note(cut: list[str], groups: Mapping[str, list[Change]]) -> list[str]:
    if not cut:
        return []
    return [
        "> [!NOTE]",
        f"> This report is cut to fit GitHub's limits: {FULL_REPORT}. These changed too:",
        ">",
        *(f"> - {_group_name(group)}: {_counts(groups[group], zeros=False)}" for group in cut),
        "",
    ]


def _fit(lines: list[str], room: int) -> list[str]:
    """As many of `lines` as fit in `room` characters; past that, one line saying how many more there are."""
    kept: list[str] = []
    room -= 150  # the line saying how many more, and the end of an open section
    for index, line in enumerate(lines):
        if len(line) + 1 > room:
            kept.append(f"\n… {len(lines) - index} more lines: {FULL_REPORT}.\n")
            if sum(text.count("<details") for text in kept) > sum(text.count("</details>") for text in kept):
                kept.append("</details>\n")
            return kept
        kept.append(line)
        room -= len(line) + 1
    return kept


def _caution(groups: Mapping[str, list[Change]]) -> list[str]:
    destructive = [(group, change) for group, grouped in groups.items() for change in grouped if change.destructive]
    if not destructive:
        return []
    count = len(destructive)
    lines = [
        "> [!CAUTION]",
        f"> ⚠️ **{count} change{'s' * (count != 1)} would lose data, a fence or a running service.** This check "
        "fails: keep the tenant, service or environment in its file and set `lifecycle: retired` instead of "
        "removing it.",
        ">",
    ]
    for group, change in destructive:
        resource = change.resource
        lines.append(f"> - {_group_name(group)}: {_code(short_type(resource.type))} {_code(resource.name)}")
    return [*lines, ""]


def _added_lines(added_only: list[str], groups: Mapping[str, list[Change]]) -> list[str]:
    """One line per group that only adds resources: how many, of which types."""
    if not added_only:
        return []
    total = sum(len(groups[group]) for group in added_only)
    summary = f"{len(added_only)} group{'s' * (len(added_only) != 1)}, {total} resource{'s' * (total != 1)}"
    lines = [
        "<details>",
        f"<summary><b>Only added</b>: {summary}</summary>",
        "",
        "| | added |",
        "| --- | --- |",
    ]
    for group in added_only:
        kinds = Counter(short_type(change.resource.type) for change in groups[group])
        listed = ", ".join(f"{_code(kind)} ×{count}" for kind, count in sorted(kinds.items()))
        lines.append(f"| {_group_name(group)} | {len(groups[group])}: {listed} |")
    return [*lines, "", "</details>", ""]


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
    lines = [
        "<details open>",
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
    if change.destructive:
        return f"⚠️ **{change.danger}**"
    if change.retained:
        return safety.RETAINED
    fields = [_code(line) for line in change.lines()]
    return "<br>".join([change.note, *fields] if change.note else fields)


def _code(text: str) -> str:
    """`text` as an inline code span that is safe inside a table cell: fenced with one backtick more than its longest
    run of backticks, so that no run inside closes it (CommonMark closes a span only at a run of the same length), and
    padded with a space where it holds one (a backtick at either end would join the fence)."""
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if longest else ""
    return f"{fence}{padding}{text}{padding}{fence}"
