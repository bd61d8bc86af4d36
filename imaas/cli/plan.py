"""`imaas plan`: the real Pulumi program run offline, what it declares, and the guardrails applied to it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import (
    TenantsOption,
    ValidationCacheOption,
    err,
    fail,
    out,
    tenants_dir,
    usage,
    use_validation_cache,
)
from imaas.inputs.problems import InputError, UsageError
from imaas.inputs.stack_file import StackFile
from imaas.plan.record import Plan

ALL = "all"


@app.command()
def plan(
    stack: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="The stack: a cluster's shared stack (dev) or a tenant stack (dev.payments), with the cluster's "
            "Pulumi.<cluster>.yaml settings; with --fleet, the cluster, or all.",
        ),
    ],
    tenants: TenantsOption = None,
    json_file: Annotated[Path | None, typer.Option("--json", metavar="FILE", help="Write the plan JSON here.")] = None,
    render_dir: Annotated[
        Path | None,
        typer.Option("--render", metavar="DIR", help="Write every Kubernetes object as YAML under this folder."),
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Show resources per tenant and type instead of the resource tree.")
    ] = False,
    fleet: Annotated[
        bool,
        typer.Option(
            "--fleet", help="Plan the cluster's shared stack and every tenant stack, in parallel worker processes."
        ),
    ] = False,
    json_dir: Annotated[
        Path | None,
        typer.Option("--json-dir", metavar="DIR", help="With --fleet: write DIR/<stack>.json for each stack."),
    ] = None,
    violations_dir: Annotated[
        Path | None,
        typer.Option(
            "--violations-dir",
            metavar="DIR",
            help="With --fleet: also write DIR/<stack>.json, each stack's guardrail findings, which `imaas diff "
            "--violations` reads instead of judging the plan again.",
        ),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", metavar="STACK", help="With --fleet: plan only these stacks of the cluster."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="With --fleet: worker processes (default: the CPUs).")
    ] = None,
    whole_cluster: Annotated[
        bool,
        typer.Option(
            "--whole-cluster",
            help="Plan a cluster as the one stack it was before tenant stacks (its shared stack and every tenant's "
            "together): what the migration moves from (docs/operators.md, Migrating to tenant stacks).",
        ),
    ] = False,
    validation_cache: ValidationCacheOption = None,
) -> None:
    """Run the real Pulumi program offline (mocks: no CLI, credentials or network) and show what it declares."""
    from imaas.engine.run import paused_cycle_collection

    use_validation_cache(validation_cache)
    if fleet:
        if json_dir is None or json_file is not None or render_dir is not None or summary or whole_cluster:
            usage("--fleet writes one plan JSON per stack: give --json-dir DIR, and not --json, --render or --summary")
        _fleet(stack, tenants, json_dir, select, workers, violations_dir)
        return
    stack_file = _stack_file(stack, json_file, render_dir, fleet=fleet)
    directory = tenants_dir(tenants, stack_file.settings.tenants_dir)
    config = dict(stack_file.config)
    if tenants is not None:
        config["imaas:tenantsDir"] = str(tenants.resolve())
    if json_dir is not None or select or workers is not None or violations_dir is not None:
        usage("--json-dir, --violations-dir, --select and --workers go with --fleet")
    if whole_cluster and "." in stack:
        usage(f"--whole-cluster --stack {stack}: name the cluster")
    # The cycle collector stays paused until the command is done: past the program, every pass would walk the whole
    # plan's heap again (a fifth of the command's time at 400 tenants) to free next to nothing.
    with paused_cycle_collection():
        result = _run(stack_file, stack, config, whole_cluster)
        _report(result, summary)
        _write(result, json_file, render_dir)
        _check_guardrails(result, stack_file, directory)


def _stack_file(stack: str, json_file: Path | None, render_dir: Path | None, *, fleet: bool) -> StackFile:
    """The stack's settings (its cluster's), once the outputs asked for are known to be writable."""
    from imaas.inputs.stack_file import StackName, read_stack_file
    from imaas.plan.render import check_target

    try:
        name = StackName.parse(stack)
        if fleet and not name.shared:
            raise UsageError(
                f"--fleet --stack {stack}: name the cluster ({name.cluster}), whose every stack is planned"
            )
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


def _fleet(
    stack: str,
    tenants: Path | None,
    json_dir: Path,
    select: list[str] | None,
    workers: int | None,
    violations_dir: Path | None,
) -> None:
    """Every stack of the cluster (of every cluster: `--stack all`), or those `--select`ed, one JSON each; the
    guardrails judge each; exit 1 if any stack fails or violates a mandatory guardrail (each named), after every stack
    was planned."""
    import os

    from imaas.checks.sharding import cluster_names
    from imaas.ci.stacks import stack_matrix
    from imaas.engine.fleet import FleetJob, plan_fleet
    from imaas.inputs.stack_file import StackName

    clusters = cluster_names(output.PROJECT_DIR) if stack == ALL else [stack]
    configs: dict[str, tuple[dict[str, str], list[str]]] = {}
    directory = None
    for cluster in clusters:
        stack_file = _stack_file(cluster, None, None, fleet=True)
        directory = directory or tenants_dir(tenants, stack_file.settings.tenants_dir)
        config = dict(stack_file.config)
        if tenants is not None:
            config["imaas:tenantsDir"] = str(tenants.resolve())
        configs[cluster] = (config, stack_file.secret_keys)
    if directory is None:
        usage("--stack all: the project has no Pulumi.<cluster>.yaml")
    # With --select, only the named tenants' files are read here (the program still validates the whole folder).
    only = {name.tenant for name in map(StackName.parse, select or []) if name.tenant} if select else None
    try:
        matrix = stack_matrix(output.PROJECT_DIR, directory, only)
    except InputError as error:
        fail(error.problems)
    except UsageError as error:
        usage(str(error))
    stacks = [entry.name for entry in matrix.entries if entry.cluster in configs]
    if select:
        unknown = sorted(set(select) - set(stacks))
        if unknown:
            usage(f"--select: not a stack of cluster {stack}: {', '.join(unknown)}")
        stacks = [name for name in stacks if name in set(select)]
    json_dir.mkdir(parents=True, exist_ok=True)
    count = workers or len(os.sched_getaffinity(0))
    job = FleetJob(output.PROJECT_DIR, stacks, configs, directory, json_dir, violations_dir)
    outcomes = plan_fleet(job, count)
    failed = 0
    for outcome in (stack for batch in outcomes for stack in batch.stacks):
        if outcome.error is not None:
            failed += 1
            err.print(f"[red]error:[/] stack {outcome.stack}: {escape(outcome.error)}")
            continue
        mandatory = False
        for is_mandatory, line in outcome.violations:
            mandatory |= is_mandatory
            kind = "[red]violation[/]" if is_mandatory else "[yellow]advisory[/]"
            err.print(f"{kind} {outcome.stack}: {escape(line)}")
        failed += mandatory
    resources = sum(stack.resources for batch in outcomes for stack in batch.stacks)
    peak = max((batch.peak_rss_mib for batch in outcomes), default=0.0)
    err.print(
        f"{len(stacks)} stacks of cluster {stack} planned by {count} worker{'s' * (count != 1)} "
        f"({resources} resources, peak {peak:.0f} MiB per process), plans in {escape(str(json_dir))}"
    )
    if failed:
        err.print(f"[red]✗[/] {failed} stack{'s' * (failed != 1)} failed or violate a mandatory guardrail")
        raise typer.Exit(1)


def _run(stack_file: StackFile, stack: str, config: dict[str, str], whole_cluster: bool) -> Plan:
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
            return run_program(
                output.PROJECT_DIR, stack, config, stack_file.secret_keys, advance, whole_cluster=whole_cluster
            )
        except InputError as error:
            progress.stop()
            fail(error.problems)
        except ProgramError as error:
            progress.stop()
            err.print(f"[red]error:[/] {escape(str(error))}")
            raise typer.Exit(1) from None


def _report(result: Plan, summary: bool) -> None:
    from imaas.plan.report import plan_tree, summary_table, tenant_summary

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
