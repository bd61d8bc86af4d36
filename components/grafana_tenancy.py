"""Grafana's tenancy on one cluster (imaas/spec/grafana.py): the job that keeps an organisation per tenant, its
script, the identity provider's client secret, and prom-label-proxy, through which tenant organisations read
metrics, fenced so that only Grafana reaches the proxy and only the proxy and Grafana the tenants' Prometheus."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from imaas.inputs.stack_file import GRAFANA_OIDC_SECRET_SETTING
from imaas.model.settings import CONFIG_NAMESPACE, GrafanaSettings
from imaas.spec import grafana, grafana_sync, naming, types
from imaas.spec.prometheus import WEB_PORT_NAME
from imaas.spec.telemetry import Endpoints

SCRIPT = Path(grafana_sync.__file__)


@dataclass(frozen=True)
class GrafanaTenancyArgs:
    settings: GrafanaSettings
    namespace: str
    endpoints: Endpoints
    tenants: list[str]
    """Every tenant with an organisation on this cluster, whose desired state the job mounts."""
    grafana: pulumi.Resource
    """The release that installs Grafana and its admin Secret."""


class GrafanaTenancy(pulumi.ComponentResource):
    def __init__(self, name: str, args: GrafanaTenancyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.GRAFANA_TENANCY, name, None, opts)
        settings, namespace = args.settings, args.namespace
        labels = {naming.MANAGED_BY_LABEL: "pulumi"}

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
        script = k8s.core.v1.ConfigMap(
            grafana.RECONCILER,
            metadata=metadata(grafana.RECONCILER),
            data={grafana.RECONCILER_SCRIPT_KEY: SCRIPT.read_text(encoding="utf-8")},
            opts=inside,
        )
        k8s.batch.v1.CronJob(
            grafana.RECONCILER,
            metadata=metadata(grafana.RECONCILER),
            spec=grafana.reconciler_cron_job_spec(settings, namespace, args.tenants),
            # Its first run needs Grafana and the chart's admin Secret.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[script, args.grafana]),
        )
        k8s.apps.v1.Deployment(
            grafana.METRICS_PROXY,
            metadata=metadata(grafana.METRICS_PROXY),
            spec=grafana.metrics_proxy_deployment_spec(settings.metrics_proxy_image, args.endpoints),
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
        self.register_outputs({"organisations": sorted(args.tenants), "metricsProxy": grafana.METRICS_PROXY})
