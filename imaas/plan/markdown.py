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
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from imaas.declarations import safety, types
from imaas.plan.diff import FENCE_FIELDS, PLATFORM, Change, by_tenant
from imaas.plan.field_diff import MARKS
from imaas.plan.ownership import service_of, tenant_of
from imaas.plan.record import PlannedResource
from imaas.plan.report import kind_of, short_type
from imaas.plan.review import Review, review_lines
from imaas.plan.text import code as _code

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
    review: Review | None = None,
    summary: bool = False,
) -> str:
    """The Markdown report of `changes`.

    `resources` (by URN: the resources of both plans) lets a resource be placed under its tenant through its
    parents when it carries no tenant label itself; without it only the changed resources are looked at.
    `unchanged` is how many resources stay as they are; `budget`, the most characters the report may take.
    `review` leads the report with the intent per tenant, capacity, cost and advisories. `summary` (the comment's
    form) collapses each tenant's resources and gives each service one row for everything generated from it,
    where the full form (the uploaded report) shows every changed field of every resource.
    """
    changes = sorted(changes, key=_change_key)
    title = f"Offline plan diff: stack `{stack}`" if stack else "Offline plan diff"
    counts = _counts(changes) + (f", {unchanged} unchanged" if unchanged is not None else "")
    lines = [f"### {title}", "", f"**{counts}**{_retained_note(changes)}", ""]
    if review is not None:
        lines += review_lines(review)
    if not changes:
        lines += ["No resource is added, changed or deleted.", ""]
        return "\n".join(lines)

    known = dict(resources or {})
    groups = by_tenant(changes, known)
    lines += _caution(groups)
    lines += _unprotect_first(changes)
    rows = _summary_rows(changes, known) if summary else None
    if rows is not None:
        groups = {group: grouped for group, grouped in groups.items() if rows.get(group)}
    added_only = [group for group, grouped in groups.items() if all(change.action == "add" for change in grouped)]
    detailed = [group for group in groups if group not in added_only]

    def section(group: str) -> list[str]:
        return _group_lines(group, groups[group], rows[group] if rows is not None else None)

    if budget is None:
        for group in detailed:
            lines += section(group)
        return "\n".join([*lines, *_added_lines(added_only, groups)])
    # What the sections may take: the budget, less the header, the one-line groups, a line for each group that
    # might be cut, and the lines that end a cut.
    added = _added_lines(added_only, groups)
    reserved = len("\n".join([*lines, *added, *_cut_note(detailed, groups)])) + 200
    room = budget - reserved
    cut: list[str] = []
    for group in detailed:
        text = section(group)
        size = len("\n".join(text)) + 1
        if cut or size > room:
            cut.append(group)
            continue
        lines += text
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


def _group_lines(group: str, changes: list[Change], rows: list[str] | None = None) -> list[str]:
    """A group's table: every changed resource, or (the summary) the `rows` given, collapsed."""
    title = "Platform (shared resources)" if group == PLATFORM else f"Tenant <code>{html.escape(group)}</code>"
    if rows is not None:
        summary = f"<summary><b>{title}</b>: {_counts(changes, zeros=False)}</summary>"
        return ["<details>", summary, "", "| | what | details |", "| --- | --- | --- |", *rows, "", "</details>", ""]
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


# In the summary, the fields shown of a resource that belongs to no service (a fence's are all shown).
SUMMARY_FIELDS, SUMMARY_WIDTH = 3, 90


def _summary_rows(changes: list[Change], known: dict[str, PlannedResource]) -> dict[str, list[str]]:
    """Per group, the summary's rows: one per service for everything generated from it (its own resources, and the
    lines of shared ones that only add or remove its repository: an AppProject's sourceRepos, a ruleset's includes),
    then one per other resource with its first changed fields (a fence's in full)."""
    services = {r.name: r for r in known.values() if r.type == types.SERVICE}
    owned: dict[str, list[Change]] = defaultdict(list)
    mentions: dict[str, list[str]] = defaultdict(list)
    others: list[Change] = []
    for change in changes:
        service = service_of(change.resource, known)
        if service is not None:
            owned[service].append(change)
            continue
        named = _services_named(change, services) if change.action == "change" and not change.destructive else None
        if not named:
            others.append(change)
            continue
        for service, paths in named.items():
            where = f"{kind_of(change.resource.type)} {_code(change.resource.name)} {', '.join(sorted(paths))}"
            mentions[service].append(where)
    rows: dict[str, list[str]] = defaultdict(list)
    for service in sorted(owned.keys() | mentions.keys()):
        component = services.get(service)
        group = tenant_of(component, known) if component is not None else None
        rows[group or PLATFORM].append(_service_row(service, group, owned.get(service, []), mentions.get(service, [])))
    for change in others:
        group = tenant_of(change.resource, known) or PLATFORM
        rows[group].append(_summary_row(change))
    return rows


def _services_named(change: Change, services: Mapping[str, PlannedResource]) -> dict[str, set[str]] | None:
    """When every changed field only adds or removes a service's repository (by name or URL): the paths, by
    service; else None."""
    found: dict[str, set[str]] = defaultdict(set)
    for field in change.fields:
        value = field.new if field.kind == "add" else field.old
        if field.kind == "change" or not isinstance(value, str):
            return None
        name = next((name for name in services if _names_repository(value, name)), None)
        if name is None:
            return None
        found[name].add(f"{MARKS[field.kind]}{field.path.rsplit('.', 1)[-1]}")
    return found or None


def _names_repository(value: str, repository: str) -> bool:
    return value == repository or value.endswith((f"/{repository}.git", f"/{repository}"))


def _service_row(service: str, tenant: str | None, changes: list[Change], mentions: list[str]) -> str:
    component = next((change for change in changes if change.resource.type == types.SERVICE), None)
    action = "changed"
    if component is not None and component.action == "add":
        action = "added"
    elif component is not None and component.action == "change":
        lifecycle = next((field.new for field in component.fields if field.path == "lifecycle"), None)
        action = "retired" if lifecycle == "retired" else "re-activated" if lifecycle == "active" else action
    name = service.removeprefix(f"{tenant}-") if tenant else service
    parts = []
    for verb in ("delete", "change", "add"):
        chosen = [change for change in changes if change.action == verb and change.resource.type != types.SERVICE]
        if chosen:
            parts.append(f"{ACTION_WORDS[verb]} {_kinds(chosen, verb)}")
    parts += [f"in {mention}" for mention in mentions]
    dangers = [f"⚠️ **{change.danger}**: {_code(change.resource.name)}" for change in changes if change.destructive]
    fences = [_code(line) for change in changes if change.action == "change" for line in _fence_lines(change)]
    details = "; ".join(parts)
    return f"| service {_code(name)} | {action} | {'<br>'.join([*dangers, details, *fences])} |"


def _kinds(changes: list[Change], verb: str) -> str:
    """`Application ×2 (limits.cpu, ...), Repository (archived)`: kinds counted, with the leaves of changed fields, and
    what deletions do."""
    by_type: dict[str, list[Change]] = defaultdict(list)
    for change in changes:
        by_type[short_type(change.resource.type)].append(change)
    kinds = Counter(kind_of(type_) for type_ in by_type)
    parts = []
    for type_, grouped in sorted(by_type.items(), key=lambda item: kind_of(item[0])):
        # By kind alone where that is plain (an ECR and a GitHub repository are not the same).
        kind = kind_of(type_) if kinds[kind_of(type_)] == 1 else type_
        count = f" ×{len(grouped)}" if len(grouped) > 1 else ""
        notes: list[str] = []
        if verb == "change":
            notes = sorted({_leaf(field.path) for change in grouped for field in change.fields})
        elif verb == "delete" and grouped[0].resource.type == types.APPLICATION:
            notes = ["workload stops"]
        elif verb == "delete" and all(change.retained for change in grouped):
            notes = ["left in place"]
        parts.append(f"{kind}{count}" + (f" ({', '.join(notes)})" if notes else ""))
    return ", ".join(parts)


def _leaf(path: str) -> str:
    """The last two names of a field's path, without list keys: `limits.cpu`, `spec.maxReplicas`."""
    plain = re.sub(r"\[[^\]]*\]", "", path)
    return ".".join(plain.split(".")[-2:])


def _fence_lines(change: Change) -> list[str]:
    fences = FENCE_FIELDS.get(change.resource.type, ())
    return [
        field.line()
        for field in change.fields
        if any(field.path == fence or field.path.startswith((f"{fence}.", f"{fence}[")) for fence in fences)
    ]


def _summary_row(change: Change) -> str:
    resource = change.resource
    if change.destructive:
        details = f"⚠️ **{change.danger}**"
    elif change.retained:
        details = safety.RETAINED
    else:
        fields = [_code(line) for line in change.lines(limit=SUMMARY_FIELDS, width=SUMMARY_WIDTH)]
        details = "<br>".join([change.note, *fields] if change.note else fields)
    what = f"{kind_of(resource.type)} {_code(resource.name)}"
    return f"| {ACTION_WORDS[change.action]} | {what} | {details} |"


def _details(change: Change) -> str:
    if change.destructive:
        return f"⚠️ **{change.danger}**"
    if change.retained:
        return safety.RETAINED
    fields = [_code(line) for line in change.lines()]
    return "<br>".join([change.note, *fields] if change.note else fields)
