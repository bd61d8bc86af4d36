"""What one tenant gets from the shared observability stack: in each of its namespaces, the PodMonitor that has
its WSO2 Micro Integrator pods scraped and the read access the tenants' Prometheus needs to find them; in the
stack's namespace, its configuration object (imaas/declarations/tenant_config.py): its store limits, the environments
its traces come from and its Grafana organisation (data sources, dashboard, the groups of each role), which the
platform's tenant-configuration job merges into what Loki, Tempo, the collector and Grafana read
(components/grafana_tenancy.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.observability import ObservabilityContext
from imaas.declarations import alerts, grafana, naming, prometheus, roles, telemetry, tenant_config, types
from imaas.declarations.telemetry import TenantTelemetry
from imaas.model.tenant import Tenant


def declare_pod_monitor(
    namespace: str, labels: dict[str, str], sample_limit: int, opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """Scrapes the pods of `namespace` that opt in by label, on their `metrics` port, at most `sample_limit` samples
    a scrape (the tenant's size's: the tenants' Prometheus enforces one limit for all). `opts` must make it wait for
    the release that installs the PodMonitor CRD. The tenants' Prometheus selects every monitor of a tenant
    namespace, so it needs no selector label."""
    return k8s.apiextensions.CustomResource(
        f"{namespace}-pod-monitor",
        api_version="monitoring.coreos.com/v1",
        kind="PodMonitor",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=telemetry.POD_MONITOR_NAME,
            namespace=namespace,
            labels=labels,
        ),
        spec=telemetry.pod_monitor_spec(sample_limit),
        opts=opts,
    )


def declare_thresholds(
    tenant_namespace: str,
    thresholds: dict[str, float],
    metadata: k8s.meta.v1.ObjectMetaArgs,
    opts: pulumi.ResourceOptions,
) -> None:
    """A tenant namespace's own alert thresholds, where they differ from the defaults: recording rules the shared
    rules compare with (imaas/declarations/alerts.py). `metadata` places the rule where the Prometheus that evaluates
    those alerts selects it."""
    if not thresholds:
        return
    k8s.apiextensions.CustomResource(
        f"{metadata.namespace}-{metadata.name}",
        api_version=alerts.API_VERSION,
        kind="PrometheusRule",
        metadata=metadata,
        spec=alerts.threshold_rule_spec(tenant_namespace, thresholds),
        opts=opts,
    )


def declare_alerts(
    namespace: str,
    thresholds: dict[str, float],
    labels: dict[str, str],
    config: dict[str, object] | None,
    opts: pulumi.ResourceOptions,
) -> None:
    """What a tenant namespace with services adds to the shared alert rules: its own thresholds over its services'
    metrics, where they differ (the tenants' Prometheus reads them here, their `namespace` enforced), and, where the
    stack has a mail relay, the AlertmanagerConfig that sends the namespace's alerts to the tenant. `opts` must make
    them wait for the CRD release."""
    key, value = alerts.TENANT_PROMETHEUS_RULE_LABEL
    declare_thresholds(
        namespace,
        {alert: v for alert, v in thresholds.items() if alert in alerts.MI_ALERTS},
        k8s.meta.v1.ObjectMetaArgs(
            name=alerts.THRESHOLD_RULES_NAME, namespace=namespace, labels={**labels, key: value}
        ),
        opts,
    )
    if config is not None:
        k8s.apiextensions.CustomResource(
            f"{namespace}-alertmanager-config",
            api_version=alerts.CONFIG_API_VERSION,
            kind="AlertmanagerConfig",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=alerts.ALERTMANAGER_CONFIG_NAME, namespace=namespace, labels=labels
            ),
            spec=config,
            opts=opts,
        )


def declare_scrape_access(
    namespace: str, labels: dict[str, str], stack_namespace: str, opts: pulumi.ResourceOptions
) -> None:
    """Lets the tenants' Prometheus discover targets in `namespace`, and in no namespace that is not a tenant's: a
    Role and a RoleBinding here rather than one ClusterRole, so that its reach is the tenant namespaces even if its
    own namespace fence were ever lost. Tenants cannot change either (RBAC kinds are outside their roles)."""
    name = prometheus.TENANT_PROMETHEUS_ACCOUNT
    metadata = k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels)
    role = k8s.rbac.v1.Role(f"{namespace}-{name}", metadata=metadata, rules=prometheus.DISCOVERY_RULES, opts=opts)
    k8s.rbac.v1.RoleBinding(
        f"{namespace}-{name}",
        metadata=metadata,
        role_ref=roles.role_ref(name),
        subjects=roles.account_subjects(name, stack_namespace),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[role])),
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
        # In the stack's namespace, where only the platform writes: a tenant can neither add a data source of its own
        # nor change its limits. Only the job reads it (the Grafana sidecars look for other labels).
        key, value = tenant_config.LABEL
        k8s.core.v1.ConfigMap(
            f"{tenant.name}-tenant-config",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=tenant_config.config_map_name(tenant.name),
                namespace=stack.namespace,
                labels={**labels, key: value},
            ),
            data=tenant_config.tenant_config_data(telemetry, grafana.grafana_org(tenant), stack.endpoints),
            opts=pulumi.ResourceOptions(parent=self, depends_on=stack.in_namespace()),
        )
        # Thresholds of the rules over kube-state-metrics, where they differ: the platform's Prometheus selects rules
        # of the stack's namespace alone, and these record series of the tenant's namespaces only.
        rule_label, rule_value = alerts.PLATFORM_RULE_LABEL
        for environment in telemetry.environments:
            if not alerts.active_in(tenant, environment):
                continue
            namespace = naming.namespace(tenant.name, environment)
            declare_thresholds(
                namespace,
                {
                    alert: v
                    for alert, v in alerts.tenant_thresholds(tenant, environment).items()
                    if alert not in alerts.MI_ALERTS
                },
                k8s.meta.v1.ObjectMetaArgs(
                    name=f"imaas-{namespace}-alert-thresholds",
                    namespace=stack.namespace,
                    labels={**labels, rule_label: rule_value},
                ),
                pulumi.ResourceOptions(parent=self, depends_on=stack.after_crds()),
            )
        self.register_outputs(
            {
                "organisation": tenant.name,
                "lokiTenant": telemetry.log_tenant,
                "traceTenant": telemetry.trace_tenant,
                "namespaces": telemetry.namespaces,
            }
        )
