"""The `python -m imaas` application, to which each command module adds its command."""

from __future__ import annotations

import tomllib
from typing import Annotated

import typer

from imaas.cli.output import PROJECT_DIR

app = typer.Typer(
    name="imaas",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Usage errors as one plain line, like every other error, not a box wrapped at the terminal's width.
    rich_markup_mode=None,
)


def version() -> str:
    """The project's version, from pyproject.toml: the package runs from the checkout, never installed, so
    importlib.metadata has no record of it."""
    with (PROJECT_DIR / "pyproject.toml").open("rb") as file:
        return str(tomllib.load(file)["project"]["version"])


def _print_version(asked: bool) -> None:
    if asked:
        print(f"imaas {version()}")
        raise typer.Exit()


@app.callback()
def main(
    _version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version and exit."),
    ] = False,
) -> None:
    """Integration Mashup as a Service: validate tenant files, plan the platform offline, compare plans."""
