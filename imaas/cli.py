"""The `python -m imaas` command line (DESIGN section 5)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from imaas.errors import InputError, Problem, UsageError

app = typer.Typer(
    name="imaas",
    help="Integration Mashup as a Service: validate tenant files, plan the platform offline, compare plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Usage errors as one plain line, like every other error, not a box wrapped at the terminal's width.
    rich_markup_mode=None,
)
# A CI log is no terminal: without a width, rich would wrap the plan tree at 80 columns there.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
# Messages are single lines that tools parse: never wrapped.
err = Console(stderr=True, highlight=False, soft_wrap=True)

PROJECT_DIR = Path(__file__).resolve().parent.parent
TenantsOption = Annotated[
    Path | None, typer.Option("--tenants", help="Folder of tenant files (default: the stack's tenantsDir, or tenants).")
]


class Format(StrEnum):
    text = "text"
    github = "github"


class DiffFormat(StrEnum):
    text = "text"
    markdown = "markdown"


def _fail(problems: list[Problem], code: int = 1, *, github: bool = False) -> NoReturn:
    for problem in problems:
        # Problems go to stdout, where CI annotations and editors' problem matchers read them.
        print(problem.github() if github else str(problem))
    files = len({problem.file for problem in problems})
    err.print(f"[red]✗[/] {len(problems)} problem{'s' * (len(problems) != 1)} in {files} file{'s' * (files != 1)}")
    raise typer.Exit(code)


def _usage(message: str) -> NoReturn:
    err.print(f"[red]error:[/] {escape(message)}")
    raise typer.Exit(2)


def _tenants_dir(tenants: Path | None, settings_dir: str | None) -> Path:
    return tenants if tenants is not None else PROJECT_DIR / (settings_dir or "tenants")


@app.command()
def validate(
    tenants: TenantsOption = None,
    stack: Annotated[str | None, typer.Option(help="Also check against this stack's settings (quotaMax, ...).")] = None,
    base: Annotated[
        str | None, typer.Option(help="Git revision to compare with: tenants and services may not disappear.")
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="text, or github for PR annotations.")
    ] = Format.text,
) -> None:
    """Load and check every tenant file, and that the stacks split the tenants exactly. Exit 0 valid, 1 invalid,
    2 usage."""
    from imaas.loader import check_tenants
    from imaas.sharding import project_stacks, shard_problems
    from imaas.stack_file import read_stack_file

    github = output_format is Format.github
    try:
        settings = read_stack_file(PROJECT_DIR, stack).settings if stack else None
        directory = _tenants_dir(tenants, settings.tenants_dir if settings else None)
        files, problems = check_tenants(directory, settings, base)
        problems += shard_problems(PROJECT_DIR, project_stacks(PROJECT_DIR), files)
    except InputError as error:
        _fail(error.problems, github=github)
    except UsageError as error:
        _usage(str(error))
    if problems:
        _fail(problems, github=github)
    err.print(f"[green]✓[/] {len(files)} tenant file{'s' * (len(files) != 1)} valid")


@app.command()
def plan(
    stack: Annotated[str, typer.Option(help="Stack whose Pulumi.<stack>.yaml settings to plan with.")],
    tenants: TenantsOption = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the plan JSON here.")] = None,
    render_dir: Annotated[
        Path | None, typer.Option("--render", help="Write every Kubernetes object as YAML under this folder.")
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Plan only this tenant (repeatable), and the tenants its network policy names."),
    ] = None,
    changed_since: Annotated[
        str | None,
        typer.Option("--changed-since", help="Plan only the tenants whose files changed since this git revision."),
    ] = None,
) -> None:
    """Run the real Pulumi program offline (mocks: no CLI, credentials or network) and show what it declares."""
    from pulumi import RunError

    from imaas.plan.engine import paused_cycle_collection, run_program
    from imaas.plan.guardrail_check import check_plan
    from imaas.plan.render import check_target, render
    from imaas.plan.report import plan_tree, summary_table
    from imaas.stack_file import read_stack_file

    try:
        stack_file = read_stack_file(PROJECT_DIR, stack)
        if render_dir is not None:
            check_target(render_dir)
    except InputError as error:
        _fail(error.problems)
    except UsageError as error:
        _usage(str(error))
    if json_file is not None and json_file.is_dir():
        _usage(f"--json {json_file}: is a folder; name a file")
    config = dict(stack_file.config)
    if tenants is not None:
        config["imaas:tenantsDir"] = str(tenants.resolve())
    focus = None
    if only is not None or changed_since is not None:
        try:
            focus = _focus(_tenants_dir(tenants, stack_file.settings.tenants_dir), set(only or []), changed_since)
        except UsageError as error:
            _usage(str(error))
    # The cycle collector stays paused until the command is done: past the program, every pass would walk the whole
    # plan's heap again (a fifth of the command's time at 400 tenants) to free next to nothing.
    with paused_cycle_collection():
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True
        ) as progress:
            task = progress.add_task(f"planning stack {stack}: 0 resources")
            count = 0

            def advance(_: object) -> None:
                nonlocal count
                count += 1
                progress.update(task, description=f"planning stack {stack}: {count} resources")

            try:
                result = run_program(PROJECT_DIR, stack, config, stack_file.secret_keys, advance, focus)
            except RunError as error:
                progress.stop()
                if isinstance(error.__cause__, InputError):
                    _fail(error.__cause__.problems)
                err.print(f"[red]error:[/] {escape(str(error))}")
                raise typer.Exit(1) from None
        out.print(plan_tree(result))
        out.print(summary_table(result))
        try:
            if json_file is not None:
                result.write(json_file)
                err.print(f"plan JSON written to {escape(str(json_file))}")
            if render_dir is not None:
                count = render(result, render_dir)
                err.print(f"{count} Kubernetes manifests written under {escape(str(render_dir))}")
        except (OSError, UsageError) as error:
            _usage(str(error))
        violations = check_plan(result, stack_file, _tenants_dir(tenants, stack_file.settings.tenants_dir))
        for violation in violations:
            kind = "[red]violation[/]" if violation.mandatory else "[yellow]advisory[/]"
            err.print(f"{kind} {escape(str(violation))}")
        mandatory = [violation for violation in violations if violation.mandatory]
        if mandatory:
            err.print(f"[red]✗[/] {len(mandatory)} mandatory guardrail violation{'s' * (len(mandatory) != 1)}")
            raise typer.Exit(1)


def _focus(directory: Path, names: set[str], changed_since: str | None) -> frozenset[str]:
    """The tenants a partial plan covers: those named or changed, and their network neighbours."""
    from imaas.history import changed_tenants
    from imaas.isolation import network_neighbours
    from imaas.tenant_files import read_tenant_files

    # Files with problems are left to the program, which refuses to plan at all while any file is invalid.
    known = [tenant_file.tenant for tenant_file in read_tenant_files(directory)[0]]
    unknown = names - {tenant.name for tenant in known}
    if unknown:
        raise UsageError(f"--only: no tenant named {', '.join(sorted(unknown))}")
    if changed_since is not None:
        names |= changed_tenants(directory, changed_since)
    return frozenset(network_neighbours(names, known))


@app.command()
def diff(
    base: Annotated[Path, typer.Argument(help="Plan JSON before the change.")],
    head: Annotated[Path, typer.Argument(help="Plan JSON after the change.")],
    output_format: Annotated[
        DiffFormat, typer.Option("--format", help="text (a table), or markdown for a PR comment or job summary.")
    ] = DiffFormat.text,
) -> None:
    """What a change adds, changes and deletes. Exit 1 when it deletes a protected or data-holding resource."""
    from imaas.plan.diff import diff_plans
    from imaas.plan.markdown import diff_markdown
    from imaas.plan.record import Plan
    from imaas.plan.report import changes_table

    try:
        before, after = Plan.read(base), Plan.read(head)
    except UsageError as error:
        _usage(str(error))
    if (before.project, before.stack) != (after.project, after.stack):
        # Two stacks share no resources: the diff would delete one and add the other.
        _usage(f"{head}: plans stack {after.project}/{after.stack}, but {base} plans {before.project}/{before.stack}")
    changes = diff_plans(before, after)
    resources = {**before.by_urn(), **after.by_urn()}
    if output_format is DiffFormat.markdown:
        # Plain text on stdout, never wrapped or styled: it is pasted into a comment or $GITHUB_STEP_SUMMARY.
        sys.stdout.write(diff_markdown(changes, stack=after.stack, resources=resources))
    else:
        out.print(changes_table(changes, resources))
    destructive = [change for change in changes if change.destructive]
    if destructive:
        err.print(f"[red]✗[/] {len(destructive)} protected or data-holding resource(s) would be deleted")
        raise typer.Exit(1)


@app.command()
def new(
    name: Annotated[str, typer.Argument(help="Tenant name: 2-20 characters, lower case, digits and single dashes.")],
    contact: Annotated[str, typer.Option(help="E-mail address of the owning team.")],
    maintainer: Annotated[list[str], typer.Option(help="GitHub login of a maintainer (repeatable).")],
    service: Annotated[str, typer.Option(help="Name of a first service.")] = "hello",
    tenants: Annotated[Path, typer.Option("--tenants", help="Folder of tenant files.")] = PROJECT_DIR / "tenants",
) -> None:
    """Write a valid starter tenant file. Exit 1 when it exists, 2 when the arguments would not make a valid one."""
    from imaas.starter import starter_text
    from imaas.tenant_files import read_tenant_files

    path = tenants / f"{name}.yaml"
    if path.exists() or path.with_suffix(".yml").exists():
        err.print(f"[red]error:[/] {escape(str(path))} already exists")
        raise typer.Exit(1)
    if tenants.exists() and not tenants.is_dir():
        _usage(f"--tenants {tenants}: not a folder")
    existing = read_tenant_files(tenants)[0] if tenants.is_dir() else []
    try:
        text = starter_text(name, contact, maintainer, service, existing)
    except InputError as error:
        _fail([Problem("arguments", field=problem.field, message=problem.message) for problem in error.problems], 2)
    tenants.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    err.print(f"[green]✓[/] wrote {escape(str(path))}; edit it, then open a pull request")


@app.command()
def schema() -> None:
    """Print the tenant file's JSON Schema."""
    from imaas.schema import tenant_schema_text

    sys.stdout.write(tenant_schema_text())
