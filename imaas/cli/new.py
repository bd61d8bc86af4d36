"""`imaas new`: a valid starter tenant file, for a team's onboarding pull request."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from imaas.cli.app import app
from imaas.cli.output import PROJECT_DIR, err, fail, usage
from imaas.inputs.problems import InputError, Problem


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Tenant name: 2-20 characters, lower case, digits and single dashes.")],
    contact: Annotated[str, typer.Option(help="E-mail address of the owning team.")],
    maintainer: Annotated[list[str], typer.Option(help="GitHub login of a maintainer (repeatable).")],
    service: Annotated[str, typer.Option(help="Name of a first service.")] = "hello",
    tenants: Annotated[Path, typer.Option("--tenants", help="Folder of tenant files.")] = PROJECT_DIR / "tenants",
) -> None:
    """Write a valid starter tenant file. Exit 1 when it exists, 2 when the arguments would not make a valid one."""
    from imaas.cli.starter import starter_text
    from imaas.inputs.tenant_files import read_tenant_files

    path = tenants / f"{name}.yaml"
    if path.exists() or path.with_suffix(".yml").exists():
        err.print(f"[red]error:[/] {escape(str(path))} already exists")
        raise typer.Exit(1)
    if tenants.exists() and not tenants.is_dir():
        usage(f"--tenants {tenants}: not a folder")
    existing = read_tenant_files(tenants)[0] if tenants.is_dir() else []
    try:
        text = starter_text(name, contact, maintainer, service, existing)
    except InputError as error:
        fail([Problem("arguments", field=problem.field, message=problem.message) for problem in error.problems], 2)
    tenants.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    err.print(f"[green]✓[/] wrote {escape(str(path))}; edit it, then open a pull request")
