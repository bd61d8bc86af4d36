"""`imaas new`: a valid starter tenant file, for a team's onboarding pull request."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import err, usage
from imaas.inputs.problems import InputError, Problem
from imaas.inputs.yaml_source import shown

if TYPE_CHECKING:
    from imaas.cli.starter import Starter


@app.command()
def new(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Tenant name: 2-20 characters, lower case, digits and single dashes.")
    ],
    contact: Annotated[str, typer.Option(metavar="EMAIL", help="E-mail address of the owning team.")],
    maintainer: Annotated[list[str], typer.Option(metavar="LOGIN", help="GitHub login of a maintainer (repeatable).")],
    service: Annotated[
        list[str] | None, typer.Option(metavar="NAME", help="A service of the tenant (repeatable; default: hello).")
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(metavar="ENV", help="An environment of the tenant: dev, test or prod (repeatable; default: all)."),
    ] = None,
    allow_from: Annotated[
        list[str] | None,
        typer.Option(metavar="TENANT", help="A tenant whose workloads may call this one's (repeatable)."),
    ] = None,
    tenants: Annotated[
        Path | None,
        typer.Option("--tenants", metavar="DIR", help="Folder of tenant files (default: the project's tenants)."),
    ] = None,
) -> None:
    """Write a valid starter tenant file. Exit 1 when it exists, 2 when the arguments would not make a valid tenant
    of a stack of the project."""
    from imaas.checks.sharding import project_stacks
    from imaas.cli.starter import Starter, schema_reference, starter_text
    from imaas.inputs.tenant_files import read_tenant_files
    from imaas.model.names import ENVIRONMENTS

    folder = tenants if tenants is not None else output.PROJECT_DIR / "tenants"
    path = folder / f"{name}.yaml"
    if path.exists() or path.with_suffix(".yml").exists():
        err.print(f"[red]error:[/] {escape(str(path))} already exists")
        raise typer.Exit(1)
    if folder.exists() and not folder.is_dir():
        usage(f"--tenants {folder}: not a folder")
    starter = Starter(name, contact, maintainer, service or ["hello"], env or list(ENVIRONMENTS), allow_from or [])
    _refuse_repeated_flags(starter)
    existing = read_tenant_files(folder)[0] if folder.is_dir() else []
    try:
        stacks = project_stacks(output.PROJECT_DIR)
        text = starter_text(starter, existing, schema_reference(folder, output.PROJECT_DIR), output.PROJECT_DIR, stacks)
    except InputError as error:
        usage(*(_in_flag_terms(problem, starter) for problem in error.problems))
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    err.print(f"[green]✓[/] wrote {escape(str(path))}; edit it, then open a pull request")


_FLAGS = {
    "spec.team.maintainers": ("--maintainer", "maintainers"),
    "spec.services": ("--service", "services"),
    "spec.environments": ("--env", "environments"),
    "spec.network.allowFrom": ("--allow-from", "allow_from"),
}


def _in_flag_terms(problem: Problem, starter: Starter) -> str:
    """A problem of the file not yet written, said of the argument it came from: `--maintainer 'Bad Login': ...`.
    A problem of a stack file (one that cannot be read) keeps its own place."""
    if problem.file != f"{starter.name}.yaml":
        return str(problem)
    if problem.field == "metadata.name":
        return f"NAME {shown(starter.name)}: {problem.message}"
    if problem.field == "metadata.contact":
        return f"--contact {shown(starter.contact)}: {problem.message}"
    entry = re.fullmatch(r"(.+?)\[(\d+)\](\.name)?", problem.field)
    if entry and entry.group(1) in _FLAGS:
        flag, attribute = _FLAGS[entry.group(1)]
        return f"{flag} {shown(getattr(starter, attribute)[int(entry.group(2))])}: {problem.message}"
    return f"{problem.field}: {problem.message}" if problem.field else problem.message


def _refuse_repeated_flags(starter: Starter) -> None:
    """A flag given twice with the same value, said as such, before the file would report it as a repeated entry."""
    repeated = [
        f"{flag} {shown(value)}: given more than once"
        for flag, attribute in _FLAGS.values()
        for value, count in Counter(getattr(starter, attribute)).items()
        if count > 1
    ]
    if repeated:
        usage(*repeated)
