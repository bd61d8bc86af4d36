"""`imaas diff`: what a change does to a stack, from two plan files."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from imaas.cli.app import app
from imaas.cli.output import err, out, usage
from imaas.inputs.problems import UsageError


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
    compared = compare_plans(before, after)
    changes = compared.changes
    resources = {**before.by_urn(), **after.by_urn()}
    if output_format is DiffFormat.markdown:
        # Plain text on stdout, never wrapped or styled: it is pasted into a comment or $GITHUB_STEP_SUMMARY.
        report = diff_markdown(
            changes, stack=after.stack, resources=resources, unchanged=compared.unchanged, budget=max_chars or None
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
