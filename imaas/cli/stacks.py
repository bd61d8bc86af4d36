"""`imaas stacks`: the clusters' shared and tenant stacks, in deployment waves, for the workflows' matrices."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import TenantsOption, fail, usage
from imaas.inputs.problems import InputError, UsageError


def _listed(path: Path) -> list[str]:
    try:
        return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as error:
        raise UsageError(f"--changed-files {path}: cannot read: {error.strerror}") from None


class StacksFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def stacks(
    output_format: Annotated[
        StacksFormat, typer.Option("--format", help="text, or json for a workflow's matrix.")
    ] = StacksFormat.text,
    tenants: TenantsOption = None,
    changed_since: Annotated[
        str | None,
        typer.Option(
            "--changed-since",
            metavar="REF",
            help="Only the stacks whose inputs changed since this git revision: a tenant file, that tenant's stacks "
            "on every cluster; anything else the program reads, every stack.",
        ),
    ] = None,
    changed_files: Annotated[
        Path | None,
        typer.Option(
            "--changed-files",
            metavar="FILE",
            help="Only the stacks whose inputs the paths listed in FILE (one a line, from the project's root) change.",
        ),
    ] = None,
    changed_tenant: Annotated[
        list[str] | None,
        typer.Option("--tenant", metavar="NAME", help="Only this tenant's stacks (repeatable)."),
    ] = None,
    batches: Annotated[
        int, typer.Option("--batches", min=1, max=256, help="At most this many batches per wave in the JSON.")
    ] = 256,
) -> None:
    """The project's stacks, in deployment waves: each cluster's shared stack, then the tenant stacks of the clusters
    owning global resources, then those of the clusters that only host. Exit 0, 1 for an invalid settings file."""
    from imaas.ci.stacks import changed_files as files_changed_since
    from imaas.ci.stacks import changed_tenants, stack_matrix

    try:
        files: list[str] | None = None
        if changed_since is not None:
            files = files_changed_since(output.PROJECT_DIR, changed_since)
        if changed_files is not None:
            files = [*(files or []), *_listed(changed_files)]
        only = set(changed_tenant) if changed_tenant else None
        if files is not None:
            touched = changed_tenants(files)
            if touched is not None:
                only = touched if only is None else only & touched
        # Only the tenant files a change names are read (a thousand others are not the question).
        matrix = stack_matrix(output.PROJECT_DIR, tenants, only)
        if only is not None:
            matrix = matrix.for_tenants(only)
    except InputError as error:
        fail(error.problems)
    except UsageError as error:
        usage(str(error))
    if output_format is StacksFormat.json:
        print(json.dumps(matrix.as_json(batches)))
        return
    for entry in matrix.entries:
        kind = "shared" if entry.tenant is None else f"tenant {entry.tenant}"
        print(f"{entry.name}\twave {entry.wave}\t{entry.cluster}\t{kind}")
