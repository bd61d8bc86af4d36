"""Grafana's tenancy on one cluster (imaas/declarations/grafana.py) and the tenants' runtime configuration
(imaas/declarations/tenant_config.py): the tenant-configuration job (its code and settings, its ServiceAccount and
RBAC), the runtime files it fills for Loki, Tempo and the collector, the identity provider's client secret, and
prom-label-proxy, through which tenant organisations read metrics, fenced so that only Grafana reaches the proxy and
only the proxy and Grafana the tenants' Prometheus. Nothing here names a tenant."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import grafana, images, naming, roles, tenant_config, types
from imaas.declarations.prometheus import WEB_PORT_NAME
from imaas.declarations.telemetry import Endpoints
from imaas.inputs.stack_file import GRAFANA_OIDC_SECRET_SETTING
from imaas.model.settings import CONFIG_NAMESPACE, GrafanaSettings


@dataclass(frozen=True)
class GrafanaTenancyArgs:
    settings: GrafanaSettings
    namespace: str
    endpoints: Endpoints
    environments: list[str]
    """The cluster's environments, the only ones a tenant's configuration object may name."""
    grafana: pulumi.Resource
    """The release that installs Grafana and its admin Secret."""
    image_mirror: dict[str, str]


class GrafanaTenancy(pulumi.ComponentResource):
    def __init__(self, name: str, args: GrafanaTenancyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.GRAFANA_TENANCY, name, None, opts)
        settings, namespace = args.settings, args.namespace
        labels = naming.platform_labels()

        def metadata(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=namespace, labels=labels)

        inside = pulumi.ResourceOptions(parent=self)
        if settings.oidc is not None:
            # Read through Config so that it stays an Output marked secret: encrypted in the state, masked in logs.
            secret = pulumi.Config(CONFIG_NAMESPACE).require_secret(GRAFANA_OIDC_SECRET_SETTING)
            k8s.core.v1.Secret(
                grafana.OIDC_SECRET,
                metadata=metadata(grafana.OIDC_SECRET),
                string_data={grafana.OIDC_SECRET_KEY: secret},
                opts=inside,
            )
        code = k8s.core.v1.ConfigMap(
            grafana.RECONCILER,
            metadata=metadata(grafana.RECONCILER),
            data=tenant_config.code_data(namespace, args.environments, settings),
            opts=inside,
        )
        # The runtime files, created once with no tenant in them: from then on the job writes their data, and the
        # platform never does again (ignoreChanges), so a `pulumi up` does not undo the job's work.
        self.runtime_files = [
            k8s.core.v1.ConfigMap(
                name,
                metadata=metadata(name),
                data=data,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=["data"]),
            )
            for name, data in tenant_config.initial_outputs().items()
        ]
        account = k8s.core.v1.ServiceAccount(grafana.RECONCILER, metadata=metadata(grafana.RECONCILER), opts=inside)
        role = k8s.rbac.v1.Role(
            grafana.RECONCILER, metadata=metadata(grafana.RECONCILER), rules=tenant_config.RULES, opts=inside
        )
        binding = k8s.rbac.v1.RoleBinding(
            grafana.RECONCILER,
            metadata=metadata(grafana.RECONCILER),
            role_ref=roles.role_ref(grafana.RECONCILER),
            subjects=roles.account_subjects(grafana.RECONCILER, namespace),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role, account]),
        )
        k8s.batch.v1.CronJob(
            grafana.RECONCILER,
            metadata=metadata(grafana.RECONCILER),
            spec=tenant_config.reconciler_cron_job_spec(
                namespace, images.mirrored(images.PYTHON_IMAGE, args.image_mirror)
            ),
            # Its first run needs Grafana and the chart's admin Secret, its identity and the files it writes.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[code, binding, args.grafana, *self.runtime_files]),
        )
        k8s.apps.v1.Deployment(
            grafana.METRICS_PROXY,
            metadata=metadata(grafana.METRICS_PROXY),
            spec=grafana.metrics_proxy_deployment_spec(
                images.mirrored(images.METRICS_PROXY_IMAGE, args.image_mirror), args.endpoints
            ),
            opts=inside,
        )
        k8s.core.v1.Service(
            grafana.METRICS_PROXY,
            metadata=metadata(grafana.METRICS_PROXY),
            spec=grafana.metrics_proxy_service_spec(),
            opts=inside,
        )
        k8s.networking.v1.NetworkPolicy(
            grafana.METRICS_PROXY,
            metadata=metadata(grafana.METRICS_PROXY),
            spec=grafana.ingress_only_from(
                grafana.METRICS_PROXY_POD_LABELS, grafana.metrics_proxy_peers(), grafana.METRICS_PROXY_PORT
            ),
            opts=inside,
        )
        k8s.networking.v1.NetworkPolicy(
            grafana.TENANT_PROMETHEUS_POLICY,
            metadata=metadata(grafana.TENANT_PROMETHEUS_POLICY),
            spec=grafana.ingress_only_from(
                grafana.TENANT_PROMETHEUS_POD_LABELS, grafana.tenant_prometheus_peers(), WEB_PORT_NAME
            ),
            opts=inside,
        )
        self.register_outputs({"metricsProxy": grafana.METRICS_PROXY})
