"""`imaas preflight`: whether the live cluster of a stack can hold the platform, each missing piece named."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from imaas.cli import output
from imaas.cli.app import app
from imaas.cli.output import err, fail, usage
from imaas.inputs.problems import InputError, UsageError

CONTEXT_KEY = "kubernetes:context"


@app.command()
def preflight(
    stack: Annotated[str, typer.Option(metavar="NAME", help="The stack whose cluster to read (Pulumi.<NAME>.yaml).")],
    kubeconfig: Annotated[
        Path | None,
        typer.Option(metavar="FILE", help="The kubeconfig (default: $KUBECONFIG, else ~/.kube/config)."),
    ] = None,
) -> None:
    """Read the stack's cluster (its kubernetes:context) and say whether it can hold the platform: Kubernetes
    version, admission API, StorageClass, NetworkPolicy enforcement, Argo CD, colliding add-ons, the ingress
    controller, the cluster's address ranges and workload identity. Exit 0 ready, 1 not ready, 2 usage."""
    from imaas.inputs.stack_file import read_stack_file
    from imaas.preflight.checks import Preflight, run_checks
    from imaas.preflight.cluster import ClusterUnreachableError, KubeconfigError, LiveCluster

    try:
        stack_file = read_stack_file(output.PROJECT_DIR, stack)
    except UsageError as error:
        usage(str(error))
    except InputError as error:
        fail(error.problems)
    if kubeconfig is not None and not kubeconfig.is_file():
        usage(f"--kubeconfig {kubeconfig}: no such file")
    config_file = kubeconfig or _default_kubeconfig()
    context = stack_file.config.get(CONTEXT_KEY) or None
    try:
        cluster = LiveCluster.from_kubeconfig(context, config_file)
    except KubeconfigError as error:
        setting = f" ({CONTEXT_KEY} of Pulumi.{stack}.yaml)" if context else " (no kubernetes:context: the current one)"
        usage(f"{error}{setting}")
    try:
        findings = run_checks(Preflight(stack_file.settings, cluster))
    except ClusterUnreachableError as error:
        print(f"{cluster.context}: {error}")
        err.print(f"[red]✗[/] cannot tell whether {escape(cluster.context)} is ready")
        raise typer.Exit(1) from None
    missing = [finding for finding in findings if not finding.ready]
    for finding in findings:
        if finding.ready:
            err.print(f"[green]✓[/] {finding.check}: {escape(finding.message)}")
        else:
            # Missing pieces go to stdout, one line each, like every other command's problems.
            print(f"{cluster.context}: {finding.check}: {finding.message}")
    if missing:
        err.print(f"[red]✗[/] {len(missing)} of {len(findings)} checks not ready on {escape(cluster.context)}")
        raise typer.Exit(1)
    err.print(f"[green]✓[/] {escape(cluster.context)} can hold the platform ({len(findings)} checks)")


def _default_kubeconfig() -> Path | None:
    """As kubectl: $KUBECONFIG (read now, not when the client was imported), else the client's own default."""
    value = os.environ.get("KUBECONFIG")
    return Path(value) if value else None
