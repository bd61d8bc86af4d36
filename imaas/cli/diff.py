"""`imaas diff`: what a change does to a stack, from two plan files."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imaas.cli.app import app
from imaas.cli.output import ValidationCacheOption, err, out, usage, use_validation_cache
from imaas.inputs.problems import InputError, UsageError

if TYPE_CHECKING:
    from imaas.guardrails import Violation
    from imaas.plan.record import Plan, PlannedResource
    from imaas.plan.review import Review


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"


@app.command()
def diff(
    base: Annotated[Path, typer.Argument(metavar="BASE.json", help="Plan JSON before the change.")],
    head: Annotated[Path, typer.Argument(metavar="HEAD.json", help="Plan JSON after the change.")],
    output_format: Annotated[
        DiffFormat, typer.Option("--format", help="text (a table), or markdown for a PR comment or job summary.")
    ] = DiffFormat.text,
    max_chars: Annotated[
        int,
        typer.Option(
            "--max-chars",
            min=0,
            help="Markdown: the most characters the report may take (0: no limit); past it, tenants take one line.",
        ),
    ] = 0,
    base_tenants: Annotated[
        Path | None,
        typer.Option(
            "--base-tenants",
            metavar="DIR",
            help="Markdown: the tenant files of BASE.json (with --head-tenants).",
        ),
    ] = None,
    head_tenants: Annotated[
        Path | None,
        typer.Option(
            "--head-tenants",
            metavar="DIR",
            help="Markdown: the tenant files HEAD.json was planned from; the report then leads with the intent per "
            "tenant, its capacity and cost, and the head plan's advisories.",
        ),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Markdown: every changed field of every resource (the uploaded report), not the summary."
        ),
    ] = False,
    violations: Annotated[
        Path | None,
        typer.Option(
            "--violations",
            metavar="FILE",
            help="Markdown, with --head-tenants: HEAD.json's guardrail findings as `imaas plan --fleet "
            "--violations-dir` wrote them, read instead of judging the plan again; refused if written of another plan.",
        ),
    ] = None,
    validation_cache: ValidationCacheOption = None,
) -> None:
    """What a change adds, changes and deletes. Exit 1 when it deletes a protected or data-holding resource."""
    from imaas.plan.diff import compare_plans
    from imaas.plan.markdown import diff_markdown
    from imaas.plan.record import Plan
    from imaas.plan.report import changes_table

    try:
        before, after = Plan.read(base), Plan.read(head)
    except UsageError as error:
        usage(str(error))
    if (before.project, before.stack) != (after.project, after.stack):
        # Two stacks share no resources: the diff would delete one and add the other.
        usage(f"{head}: plans stack {after.project}/{after.stack}, but {base} plans {before.project}/{before.stack}")
    if output_format is DiffFormat.text and (max_chars or base_tenants or head_tenants or full or violations):
        # The table shows the changes alone: an option of the markdown report would be silently ignored.
        usage("--max-chars, --base-tenants, --head-tenants, --full and --violations go with --format markdown")
    if (base_tenants is None) != (head_tenants is None):
        usage("--base-tenants and --head-tenants go together: the tenant files of both plans")
    if violations is not None and head_tenants is None:
        usage("--violations goes with --base-tenants and --head-tenants: it is the review's")
    for folder in (base_tenants, head_tenants):
        if folder is not None and not folder.is_dir():
            usage(f"{folder}: not a folder of tenant files")
    findings = None if violations is None else _findings(violations, after, head)
    use_validation_cache(validation_cache)
    compared = compare_plans(before, after)
    changes = compared.changes
    resources = {**before.by_urn(), **after.by_urn()}
    if output_format is DiffFormat.markdown:
        review = None
        if base_tenants is not None and head_tenants is not None:
            review = _review(after, base_tenants, head_tenants, resources, findings)
        # Plain text on stdout, never wrapped or styled: it is pasted into a comment or $GITHUB_STEP_SUMMARY.
        report = diff_markdown(
            changes,
            stack=after.stack,
            resources=resources,
            unchanged=compared.unchanged,
            budget=max_chars or None,
            review=review,
            summary=not full,
        )
        sys.stdout.write(report)
    elif changes:
        out.print(changes_table(changes, resources))
    else:
        out.print(f"no changes: {compared.unchanged} resources unchanged")
    destructive = [change for change in changes if change.destructive]
    if destructive:
        err.print(f"[red]✗[/] {len(destructive)} change(s) would lose data, a fence or a running service")
        raise typer.Exit(1)


def _findings(path: Path, head: Plan, head_path: Path) -> list[Violation]:
    """The guardrail findings `imaas plan --fleet --violations-dir` wrote of the plan in `head_path`; a usage error if
    they cannot be read, or were written of another stack or another plan (a stale file of an earlier run)."""
    from imaas.plan.guardrail_check import read_findings
    from imaas.plan.record import file_digest

    try:
        findings = read_findings(path)
    except (OSError, ValueError, KeyError, TypeError) as error:
        usage(f"--violations {path}: not the guardrail findings of a fleet plan ({error})")
    digest = file_digest(head_path)
    if (findings.stack, findings.plan_sha256) != (head.stack, digest):
        usage(
            f"--violations {path}: the findings of stack {findings.stack}'s plan (sha256 {findings.plan_sha256[:12]}), "
            f"not of {head_path} (stack {head.stack}, sha256 {digest[:12]}): plan it again with --violations-dir"
        )
    return findings.violations


def _review(
    head: Plan,
    base_tenants: Path,
    head_tenants: Path,
    resources: dict[str, PlannedResource],
    findings: list[Violation] | None,
) -> Review:
    """The intent per tenant, from the tenant files of both plans, with the cluster's settings; and the advisory
    guardrails of the head plan (`findings`: as its fleet plan found them; None: judged here). Tenant files that cannot
    be read are said in the report; the stack's settings that cannot be read are a usage error."""
    from imaas.cli import output
    from imaas.inputs.stack_file import StackName, read_stack_file
    from imaas.inputs.tenant_files import read_tenant_files
    from imaas.plan.guardrail_check import check_plan
    from imaas.plan.intent import change_intent
    from imaas.plan.review import Review, advisory_lines

    try:
        stack_file = read_stack_file(output.PROJECT_DIR, head.stack)
    except (InputError, UsageError) as error:
        usage(f"stack {head.stack}: its settings cannot be read for the review ({error})")
    notes = []
    tenants = {}
    stack = StackName.parse(head.stack)
    for side, folder in (("base", base_tenants), ("head", head_tenants)):
        # A tenant stack's plan holds that tenant alone: so does its intent (DESIGN section 3), read from its own file
        # only, not from the whole folder's.
        files, problems = read_tenant_files(folder, only={stack.tenant} if stack.tenant is not None else None)
        tenants[side] = [tenant_file.tenant for tenant_file in files]
        if problems:
            notes.append(
                f"{len(problems)} problem{'s' * (len(problems) != 1)} in the tenant files of the {side}: the intent "
                "below leaves out the files that cannot be read"
            )
    intent = change_intent(tenants["base"], tenants["head"], stack_file.settings)
    advisories: list[str] = []
    others = 0
    try:
        violations = findings if findings is not None else check_plan(head, stack_file, head_tenants)
    except InputError:
        notes.append("the head's tenant files do not validate: no advisories are judged")
    else:
        touched = {entry.tenant for entry in intent.tenants}
        advisories, others = advisory_lines(violations, resources, touched)
    return Review(intent, stack_file.settings, advisories, others, notes)
