"""What one tenant gets from the shared observability stack: in each of its namespaces, the PodMonitor that has
its WSO2 Micro Integrator pods scraped; in the stack's namespace, its Grafana view (a folder holding its dashboard,
and a Loki data source that reads its Loki tenant only), provisioned through the Grafana sidecar."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.observability import ObservabilityContext
from imaas.model.tenant import Tenant
from imaas.spec import dashboards, naming, telemetry, types
from imaas.spec.telemetry import TenantTelemetry


def declare_pod_monitor(
    namespace: str, labels: dict[str, str], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """Scrapes the pods of `namespace` that opt in by label, on their `metrics` port. `opts` must make it wait for
    the operator's release, which installs the PodMonitor CRD."""
    label, value = telemetry.METRICS_POD_LABEL
    selector_label, selector_value = telemetry.MONITOR_SELECTOR_LABEL
    return k8s.apiextensions.CustomResource(
        f"{namespace}-pod-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="PodMonitor",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=telemetry.POD_MONITOR_NAME,
            namespace=namespace,
            labels={**labels, selector_label: selector_value},
        ),
        spec={
            "selector": {"matchLabels": {label: value}},
            "podMetricsEndpoints": [
                {"port": telemetry.METRICS_PORT_NAME, "path": telemetry.METRICS_PATH},
            ],
        },
        opts=opts,
    )


@dataclass(frozen=True)
class TenantObservabilityViewArgs:
    tenant: Tenant
    telemetry: TenantTelemetry
    observability: ObservabilityContext


class TenantObservabilityView(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: TenantObservabilityViewArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(types.TENANT_OBSERVABILITY_VIEW, name, None, opts)
        tenant, telemetry, stack = args.tenant, args.telemetry, args.observability
        labels = naming.labels(tenant)
        # The objects live in the stack's namespace, where only the platform writes: a tenant cannot add a data
        # source or a dashboard of its own, nor change these.
        inside = pulumi.ResourceOptions(parent=self, depends_on=[stack.namespace_resource])

        def provisioned(suffix: str, label: tuple[str, str], data: dict[str, str], **annotations: str) -> None:
            key, value = label
            k8s.core.v1.ConfigMap(
                f"{tenant.name}-grafana-{suffix}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"imaas-{tenant.name}-{suffix}",
                    namespace=stack.namespace,
                    labels={**labels, key: value},
                    annotations=annotations or None,
                ),
                data=data,
                opts=inside,
            )

        provisioned(
            "datasource",
            dashboards.DATASOURCE_LABEL,
            {f"loki-{tenant.name}.yaml": dashboards.datasources_yaml(telemetry, stack.endpoints)},
        )
        provisioned(
            "dashboard",
            dashboards.DASHBOARD_LABEL,
            {f"{tenant.name}-wso2mi.json": dashboards.dashboard_json(telemetry)},
            **{dashboards.FOLDER_ANNOTATION: tenant.name},
        )
        self.register_outputs(
            {"folder": tenant.name, "lokiTenant": telemetry.log_tenant, "namespaces": telemetry.namespaces}
        )
