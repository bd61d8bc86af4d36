"""`imaas stacks`: the project's stacks in deployment order, for the workflows' matrices."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated

import typer

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import fail
from imaas.inputs.problems import InputError


class StacksFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def stacks(
    output_format: Annotated[
        StacksFormat, typer.Option("--format", help="text, or json for a workflow's matrix.")
    ] = StacksFormat.text,
) -> None:
    """The stacks of the project's Pulumi.*.yaml files, in deployment order. Exit 0, 1 for an invalid stack file."""
    from imaas.ci.stacks import stack_matrix

    try:
        matrix = stack_matrix(output.PROJECT_DIR)
    except InputError as error:
        fail(error.problems)
    if output_format is StacksFormat.json:
        print(json.dumps(matrix.as_json()))
        return
    for wave, names in (("shared", matrix.shared), ("global", matrix.global_), ("hosting", matrix.hosting)):
        for name in names:
            print(f"{name}\t{wave}")
