"""How every command speaks: results on stdout, messages on stderr, problems as compiler-style lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from imaas.inputs.problems import Problem

# A CI log is no terminal: without a width, rich would wrap the plan tree at 80 columns there.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
# Messages are single lines that tools parse: never wrapped.
err = Console(stderr=True, highlight=False, soft_wrap=True)

PROJECT_DIR = Path(__file__).resolve().parents[2]
TenantsOption = Annotated[
    Path | None,
    typer.Option(
        "--tenants", metavar="DIR", help="Folder of tenant files (default: the stack's tenantsDir, or tenants)."
    ),
]
ValidationCacheOption = Annotated[
    Path | None,
    typer.Option(
        "--validation-cache",
        metavar="DIR",
        help="Keep the parsed tenant files and the folders found valid here, by content, for the other commands of "
        "the same check (imaas/inputs/tenant_cache.py); a folder of this run's own, never shared.",
    ),
]


def use_validation_cache(folder: Path | None) -> None:
    """Read and keep validations in `folder` from now on (a usage error if it cannot be made a folder)."""
    from imaas.inputs import tenant_cache

    if folder is None:
        return
    try:
        tenant_cache.use(folder)
    except OSError as error:
        usage(f"--validation-cache {folder}: {error.strerror}")


def fail(problems: list[Problem], code: int = 1, *, github: bool = False) -> NoReturn:
    for problem in problems:
        # Problems go to stdout, where CI annotations and editors' problem matchers read them.
        print(problem.github() if github else str(problem))
    files = len({problem.file for problem in problems})
    err.print(f"[red]✗[/] {len(problems)} problem{'s' * (len(problems) != 1)} in {files} file{'s' * (files != 1)}")
    raise typer.Exit(code)


def usage(*messages: str) -> NoReturn:
    """Each message as an `error:` line, and exit 2: what was asked cannot be done as asked."""
    for message in messages:
        err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def tenants_dir(tenants: Path | None, settings_dir: str | None) -> Path:
    """The folder named by `--tenants`, which must be one (a usage error otherwise), or the stack's."""
    if tenants is not None and not tenants.is_dir():
        usage(f"--tenants {tenants}: {'not a folder' if tenants.exists() else 'no such folder'}")
    return tenants if tenants is not None else PROJECT_DIR / (settings_dir or "tenants")
