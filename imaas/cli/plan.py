"""`imaas plan`: the real Pulumi program run offline, what it declares, and the guardrails applied to it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import TenantsOption, err, fail, out, tenants_dir, usage
from imaas.inputs.problems import InputError, UsageError
from imaas.inputs.stack_file import StackFile
from imaas.plan.record import Plan


@app.command()
def plan(
    stack: Annotated[str, typer.Option(metavar="NAME", help="Stack whose Pulumi.<stack>.yaml settings to plan with.")],
    tenants: TenantsOption = None,
    json_file: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write the plan JSON here.")] = None,
    render_dir: Annotated[
        Path | None,
        typer.Option("--render", metavar="DIR", help="Write every Kubernetes object as YAML under this folder."),
    ] = None,
    only: Annotated[
        list[str] | None,
        typer.Option(
            "--only",
            metavar="TENANT",
            help="Plan only this tenant (repeatable), and the tenants its network policy names.",
        ),
    ] = None,
    changed_since: Annotated[
        str | None,
        typer.Option(
            "--changed-since", metavar="REF", help="Plan only the tenants whose files changed since this git revision."
        ),
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Show resources per tenant and type instead of the resource tree.")
    ] = False,
) -> None:
    """Run the real Pulumi program offline (mocks: no CLI, credentials or network) and show what it declares."""
    from imaas.engine.run import paused_cycle_collection

    stack_file = _stack_file(stack, json_file, render_dir)
    directory = tenants_dir(tenants, stack_file.settings.tenants_dir)
    config = dict(stack_file.config)
    if tenants is not None:
        config["imaas:tenantsDir"] = str(tenants.resolve())
    focus = _focus(directory, only, changed_since)
    # The cycle collector stays paused until the command is done: past the program, every pass would walk the whole
    # plan's heap again (a fifth of the command's time at 400 tenants) to free next to nothing.
    with paused_cycle_collection():
        result = _run(stack_file, stack, config, focus)
        _report(result, summary)
        _write(result, json_file, render_dir)
        _check_guardrails(result, stack_file, directory)


def _stack_file(stack: str, json_file: Path | None, render_dir: Path | None) -> StackFile:
    """The stack's settings, once the outputs asked for are known to be writable."""
    from imaas.inputs.stack_file import read_stack_file
    from imaas.plan.render import check_target

    try:
        stack_file = read_stack_file(output.PROJECT_DIR, stack)
        if render_dir is not None:
            check_target(render_dir)
    except InputError as error:
        fail(error.problems)
    except UsageError as error:
        usage(str(error))
    if json_file is not None and json_file.is_dir():
        usage(f"--json {json_file}: is a folder; name a file")
    return stack_file


def _focus(directory: Path, only: list[str] | None, changed_since: str | None) -> frozenset[str] | None:
    """The tenants a partial plan covers: those named or changed, and their network neighbours; None for all."""
    from imaas.inputs.revisions import changed_tenants
    from imaas.inputs.tenant_files import read_tenant_files
    from imaas.spec.isolation import network_neighbours

    if only is None and changed_since is None:
        return None
    names = set(only or [])
    # Files with problems are left to the program, which refuses to plan at all while any file is invalid.
    known = [tenant_file.tenant for tenant_file in read_tenant_files(directory)[0]]
    unknown = names - {tenant.name for tenant in known}
    try:
        if unknown:
            raise UsageError(f"--only: no tenant named {', '.join(sorted(unknown))}")
        if changed_since is not None:
            names |= changed_tenants(directory, changed_since)
    except UsageError as error:
        usage(str(error))
    return frozenset(network_neighbours(names, known))


def _run(stack_file: StackFile, stack: str, config: dict[str, str], focus: frozenset[str] | None) -> Plan:
    """The program's plan, with a count of resources as it goes; invalid input ends the command with its problems."""
    from imaas.engine.run import ProgramError, run_program

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
            return run_program(output.PROJECT_DIR, stack, config, stack_file.secret_keys, advance, focus)
        except InputError as error:
            progress.stop()
            fail(error.problems)
        except ProgramError as error:
            progress.stop()
            err.print(f"[red]error:[/] {escape(str(error))}")
            raise typer.Exit(1) from None


def _report(result: Plan, summary: bool) -> None:
    from imaas.plan.report import partial_note, plan_tree, summary_table, tenant_summary

    note = partial_note(result)
    if note:
        err.print(f"[yellow]{escape(note)}[/]")
    out.print(tenant_summary(result) if summary else plan_tree(result))
    out.print(summary_table(result))


def _write(result: Plan, json_file: Path | None, render_dir: Path | None) -> None:
    from imaas.plan.render import render

    try:
        if json_file is not None:
            result.write(json_file)
            err.print(f"plan JSON written to {escape(str(json_file))}")
        if render_dir is not None:
            count = render(result, render_dir)
            err.print(f"{count} Kubernetes manifests written under {escape(str(render_dir))}")
    except (OSError, UsageError) as error:
        usage(str(error))


def _check_guardrails(result: Plan, stack_file: StackFile, directory: Path) -> None:
    """Every violation as a line; a mandatory one fails the command."""
    from imaas.plan.guardrail_check import check_plan
    from imaas.plan.report import violation_line

    violations = check_plan(result, stack_file, directory)
    resources = result.by_urn()
    for violation in violations:
        kind = "[red]violation[/]" if violation.mandatory else "[yellow]advisory[/]"
        err.print(f"{kind} {escape(violation_line(violation, resources))}")
    mandatory = [violation for violation in violations if violation.mandatory]
    if mandatory:
        err.print(f"[red]✗[/] {len(mandatory)} mandatory guardrail violation{'s' * (len(mandatory) != 1)}")
        raise typer.Exit(1)
