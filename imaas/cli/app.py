"""The `python -m imaas` application, to which each command module adds its command."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="imaas",
    help="Integration Mashup as a Service: validate tenant files, plan the platform offline, compare plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Usage errors as one plain line, like every other error, not a box wrapped at the terminal's width.
    rich_markup_mode=None,
)
