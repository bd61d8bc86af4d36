"""Argo CD itself, from its pinned chart, for a cluster that has none (unless `imaas:preinstalled` lists argocd)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.helm_release import declare_addon
from imaas.declarations import chart_values, charts, types


@dataclass(frozen=True)
class ArgoCdArgs:
    chart: charts.Release
    applications: int
    """`imaas:observability.argocd.applications`, which Argo CD is sized for."""
    namespace: str
    """`imaas:argocdNamespace`, where the tenants' AppProjects and Applications live."""
    image_mirror: dict[str, str] = field(default_factory=dict)


class ArgoCd(pulumi.ComponentResource):
    def __init__(self, name: str, args: ArgoCdArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.ARGO_CD, name, None, opts)
        self.release: k8s.helm.v3.Release = declare_addon(
            self,
            charts.ARGO_CD,
            args.chart,
            args.namespace,
            chart_values.argocd_values(args.applications),
            args.image_mirror,
            # Argo CD's namespace belongs to Argo CD: created with it, and no tenant's.
            create_namespace=True,
        )
