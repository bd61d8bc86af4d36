"""A Helm chart installed by Pulumi: the one way the platform installs third-party software on a cluster."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_kubernetes.helm import v3 as helm

from imaas.declarations import charts, images
from imaas.declarations.charts import Chart, Release


def declare_release(
    chart: Chart,
    release: Release,
    namespace: pulumi.Input[str],
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
    image_mirror: dict[str, str] | None = None,
    **release_args: Any,
) -> helm.Release:
    """A release of `chart` at its pinned version, with the platform's values under the stack's overrides; with an
    image mirror, every image of the chart comes through it (imaas/declarations/images.py).

    Every release keeps at most charts.MAX_HISTORY revisions (the provider sets Helm's MaxHistory on upgrade; unset,
    it is 0, no limit). A node agent's release is not awaited: with `skipAwait` the provider runs Helm without
    `--wait`, so `up` is done once the objects are applied, instead of waiting (300 s by default, `timeout`) for a
    DaemonSet rolled one node at a time over the whole cluster; a rollout that stalls is kube-prometheus-stack's
    KubeDaemonSetRolloutStuck alert's to report."""
    platform = charts.merged(values, images.chart_image_values(chart.name, image_mirror or {}))
    return helm.Release(
        chart.release,
        name=chart.release,
        chart=chart.name,
        version=release.version,
        repository_opts=helm.RepositoryOptsArgs(repo=chart.repository),
        namespace=namespace,
        values=charts.merged(platform, release.values),
        max_history=charts.MAX_HISTORY,
        skip_await=chart.node_agent,
        opts=opts,
        **release_args,
    )


def declare_addon(
    component: pulumi.ComponentResource,
    chart: Chart,
    release: Release,
    namespace: pulumi.Input[str],
    values: dict[str, Any],
    image_mirror: dict[str, str],
    **release_args: Any,
) -> helm.Release:
    """An add-on the stack installs for a cluster that has none (Argo CD, metrics-server, the runtime operators): its
    one release, the child of `component`, whose outputs then say where it runs and at which version."""
    declared = declare_release(
        chart, release, namespace, values, pulumi.ResourceOptions(parent=component), image_mirror, **release_args
    )
    component.register_outputs({"namespace": namespace, "version": release.version})
    return declared
