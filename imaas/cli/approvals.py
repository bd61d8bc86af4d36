"""`imaas approvals`: whether each tenant file a pull request changes has its own maintainers' approval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from imaas.cli.app import app
from imaas.cli.output import err, usage
from imaas.cli.validate import Format
from imaas.inputs.problems import UsageError, escape_data, escape_property


@app.command()
def approvals(
    base_tenants: Annotated[
        Path, typer.Option(metavar="DIR", help="The tenant files at the base revision (who the owners are).")
    ],
    head_tenants: Annotated[Path, typer.Option(metavar="DIR", help="The tenant files the pull request would merge.")],
    author: Annotated[str, typer.Option(metavar="LOGIN", help="GitHub login of the pull request's author.")],
    reviews: Annotated[
        Path, typer.Option(metavar="FILE", help="The pull request's reviews as the REST API lists them (JSON).")
    ],
    head_sha: Annotated[str, typer.Option(metavar="SHA", help="The head commit: only approvals of this commit count.")],
    output_format: Annotated[Format, typer.Option("--format", help="text, or github for annotations.")] = Format.text,
) -> None:
    """Whether each changed tenant file has its own maintainers' approval. Exit 0 yes, 1 missing, 2 usage."""
    from imaas.ci.approvals import approvers, describe, read_reviews, requirements, verdicts

    try:
        found = requirements(base_tenants, head_tenants, author)
        approved = approvers(read_reviews(reviews.read_text(encoding="utf-8")), head_sha)
    except OSError as error:
        usage(f"--reviews {reviews}: {error.strerror}")
    except UsageError as error:
        usage(str(error))
    results = verdicts(found, approved)
    missing = 0
    for verdict in results:
        line = describe(verdict, author, "tenants")
        if not verdict.satisfied:
            missing += 1
        if output_format is Format.github:
            kind = "notice" if verdict.satisfied else "error"
            file = escape_property(f"tenants/{verdict.requirement.file}")
            print(f"::{kind} file={file},title=Tenant ownership::{escape_data(line)}")
        else:
            print(("✓ " if verdict.satisfied else "✗ ") + line)
    if missing:
        err.print(f"[red]✗[/] {missing} tenant file{'s' * (missing != 1)} without an approval of their maintainers")
        raise typer.Exit(1)
    err.print(f"[green]✓[/] {len(results)} changed tenant file{'s' * (len(results) != 1)}: every owner has approved")
