"""`imaas validate`: every tenant file, every rule, and that the stacks split the tenants exactly."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import TenantsOption, err, fail, tenants_dir, usage
from imaas.inputs.problems import InputError, UsageError


class Format(StrEnum):
    text = "text"
    github = "github"


@app.command()
def validate(
    tenants: TenantsOption = None,
    stack: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Also check against this stack's cluster's settings (quotaMax, ...); all: every one."
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(metavar="REF", help="Git revision to compare with: tenants and services may not disappear."),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="text, or github for PR annotations.")
    ] = Format.text,
) -> None:
    """Load and check every tenant file, and that the stacks split the tenants exactly. Exit 0 valid, 1 invalid,
    2 usage."""
    from imaas.checks.sharding import project_stacks, shard_problems
    from imaas.checks.tenants import check_tenants
    from imaas.inputs.stack_file import read_stack_file
    from imaas.model.settings import StackSettings

    github = output_format is Format.github
    try:
        clusters = project_stacks(output.PROJECT_DIR)
        if stack == "all":
            # Every cluster's limits in one process: the judge's and Deploy's one validation.
            chosen: list[StackSettings | None] = [clusters[name] for name in sorted(clusters)] or [None]
        else:
            chosen = [read_stack_file(output.PROJECT_DIR, stack).settings if stack else None]
        directory = tenants_dir(tenants, chosen[0].tenants_dir if chosen[0] else None)
        files, problems = check_tenants(directory, chosen[0], base)
        for settings in chosen[1:]:
            problems += check_tenants(directory, settings)[1]
        problems = sorted(set(problems))
        problems += shard_problems(output.PROJECT_DIR, clusters, files)
    except InputError as error:
        fail(error.problems, github=github)
    except UsageError as error:
        usage(str(error))
    if problems:
        fail(problems, github=github)
    err.print(f"[green]✓[/] {len(files)} tenant file{'s' * (len(files) != 1)} valid")
