"""`imaas validate`: every tenant file, every rule, and that the stacks split the tenants exactly."""

from __future__ import annotations

import gc
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import TenantsOption, ValidationCacheOption, err, fail, tenants_dir, usage, use_validation_cache
from imaas.inputs.problems import InputError, Problem, UsageError

if TYPE_CHECKING:
    from imaas.inputs.tenant_files import TenantFile
    from imaas.model.settings import StackSettings


ALL = "all"
"""`--stack all`: every stack's limits, as the pull-request checks judge them."""


class Format(StrEnum):
    text = "text"
    github = "github"


@app.command()
def validate(
    tenants: TenantsOption = None,
    stack: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Also check against this stack's settings (quotaMax, sizes, capacity), or every stack's with 'all' "
            "(what the pull-request checks run).",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(metavar="REF", help="Git revision to compare with: tenants and services may not disappear."),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="text, or github for PR annotations.")
    ] = Format.text,
    validation_cache: ValidationCacheOption = None,
) -> None:
    """Load and check every tenant file, and that the stacks split the tenants exactly. Exit 0 valid, 1 invalid,
    2 usage."""
    from imaas.checks.sharding import project_stacks, shard_problems
    from imaas.checks.tenants import check_tenants
    from imaas.inputs.stack_file import read_stack_file

    github = output_format is Format.github
    use_validation_cache(validation_cache)
    # The cycle collector paused while the folder is read: what a thousand files parse into lives until the command
    # ends, and each pass over it (a tenth of the command) freed nothing; what is dropped is freed by reference counts.
    collecting = gc.isenabled()
    gc.disable()
    try:
        stacks = project_stacks(output.PROJECT_DIR)
        if stack == ALL:
            files, problems = _every_stack(tenants, stacks, base)
        else:
            settings = read_stack_file(output.PROJECT_DIR, stack).settings if stack else None
            directory = tenants_dir(tenants, settings.tenants_dir if settings else None)
            files, problems = check_tenants(directory, settings, base)
        problems += shard_problems(output.PROJECT_DIR, stacks, files)
    except InputError as error:
        fail(error.problems, github=github)
    except UsageError as error:
        usage(str(error))
    finally:
        if collecting:
            gc.enable()
    if problems:
        fail(problems, github=github)
    err.print(f"[green]✓[/] {len(files)} tenant file{'s' * (len(files) != 1)} valid")


def _every_stack(
    tenants: Path | None, stacks: dict[str, StackSettings], base: str | None
) -> tuple[list[TenantFile], list[Problem]]:
    """Every rule against every stack's settings: the problems only a stack's limits find are said with its name
    (`prod: ...`), each once; the comparison with `base` is made once."""
    from imaas.checks.across_files import SETTINGS_RULES
    from imaas.checks.tenants import check_tenants
    from imaas.inputs.tenant_files import read_tenant_files

    if not stacks:
        raise UsageError("--stack all: the project has no Pulumi.<stack>.yaml")
    folders = {settings.tenants_dir for settings in stacks.values()}
    if tenants is None and len(folders) > 1:
        listed = ", ".join(sorted(folders))
        raise UsageError(f"--stack all: the stacks read different tenant folders ({listed}): name one with --tenants")
    directory = tenants_dir(tenants, folders.pop())
    read = read_tenant_files(directory)
    files, problems = check_tenants(directory, None, base, read=read)
    everywhere = set(problems)
    for name, settings in stacks.items():
        # The rules that read no settings found the same against every stack as against none: only the others run.
        _, found = check_tenants(directory, settings, rules=SETTINGS_RULES, whole_if_clean=not everywhere, read=read)
        problems += [
            replace(problem, message=f"{name}: {problem.message}") for problem in found if problem not in everywhere
        ]
    return files, sorted(set(problems))
