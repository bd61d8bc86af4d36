"""metrics-server from its pinned chart: the resource metrics that every service's HorizontalPodAutoscaler scales on,
for a cluster that has none of its own (unless `imaas:preinstalled` lists metricsServer)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.helm_release import declare_addon
from imaas.declarations import chart_values, charts, types


@dataclass(frozen=True)
class MetricsServerArgs:
    chart: charts.Release
    image_mirror: dict[str, str] = field(default_factory=dict)


class MetricsServer(pulumi.ComponentResource):
    def __init__(self, name: str, args: MetricsServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.METRICS_SERVER, name, None, opts)
        self.release = declare_addon(
            self,
            charts.METRICS_SERVER,
            args.chart,
            charts.METRICS_SERVER_NAMESPACE,
            chart_values.metrics_server_values(),
            args.image_mirror,
        )
