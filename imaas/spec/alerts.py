"""Each tenant's alerts and where they go: rules per active service and environment, and a route to the tenant's
own receivers that no other tenant's alert can take.

Two Prometheus evaluate them, each over what it scrapes. The tenants' Prometheus has the services' own metrics
(WSO2 MI's Prometheus API, through the platform's PodMonitor): a PrometheusRule in the tenant namespace, which it
selects with the same namespace enforcement as its monitors. The platform's Prometheus has kube-state-metrics: a
PrometheusRule per tenant namespace in the stack's namespace, where only the platform writes, each expression fixed
to that namespace. Every alert carries its namespace, and each tenant namespace's AlertmanagerConfig, which the
Prometheus Operator restricts to alerts of its own namespace (matcher strategy OnNamespace), sends them to the
tenant's contact and extra addresses only.

Metric names are WSO2 MI's MetricConstants (org.wso2.micro.integrator.observability): counters
`wso2_integration_<kind>_request_count_total` and `..._request_count_error_total`, histograms
`wso2_integration_<kind>_latency_seconds`, labelled `service_name` (the API or proxy), for kinds api, proxy,
inbound_endpoint and data_service.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imaas.model.tenant import Tenant
from imaas.spec import naming

API_VERSION = "monitoring.coreos.com/v1"
CONFIG_API_VERSION = "monitoring.coreos.com/v1alpha1"
TENANT_RULES_NAME = "imaas-alerts"
ALERTMANAGER_CONFIG_NAME = "imaas-alerts"
RECEIVER = "tenant"
# The Deployment of a service in its namespace: the template's `wso2mi-service` (templates/service/deploy/base),
# prefixed with the service's name by its Argo CD Application (components/service_applications.py).
TEMPLATE_WORKLOAD = "wso2mi-service"
# The label the platform's PodMonitor copies from a pod (podTargetLabels), as Prometheus spells it.
SERVICE_TARGET_LABEL = "imaas_io_service"
MI_KINDS = ("api", "proxy", "inbound_endpoint", "data_service")
# kube-prometheus-stack's Prometheus selects rules with its release label (ruleSelectorNilUsesHelmValues).
PLATFORM_RULE_LABEL = ("release", "kube-prometheus-stack")
# kube-prometheus-stack names its Alertmanager's Service `<release>-alertmanager`, web port `http-web`.
ALERTMANAGER_SERVICE = "kube-prometheus-stack-alertmanager"
ALERTMANAGER_PORT_NAME = "http-web"
SMTP_SECRET = "imaas-alertmanager-smtp"
SMTP_PASSWORD_KEY = "password"
# Where the operator mounts each Secret of alertmanagerSpec.secrets.
SMTP_PASSWORD_FILE = f"/etc/alertmanager/secrets/{SMTP_SECRET}/{SMTP_PASSWORD_KEY}"

ERROR_RATIO = 0.05
LATENCY_P95_SECONDS = 2.0
RESTARTS_PER_HOUR = 3


@dataclass(frozen=True)
class ServiceAlerts:
    """The alerts of one service in one environment."""

    tenant: str
    environment: str
    service: str

    @property
    def namespace(self) -> str:
        return naming.namespace(self.tenant, self.environment)

    @property
    def workload(self) -> str:
        return f"{self.service}-{TEMPLATE_WORKLOAD}"

    @property
    def labels(self) -> dict[str, str]:
        """What every alert of the service carries, whatever its expression keeps: its namespace (what the route
        matches on) and who it is about."""
        return {
            "namespace": self.namespace,
            "imaas_tenant": self.tenant,
            "imaas_environment": self.environment,
            "imaas_service": self.service,
        }

    def _selector(self, **extra: str) -> str:
        matchers = {"namespace": self.namespace, SERVICE_TARGET_LABEL: self.service, **extra}
        return ", ".join(f'{key}="{value}"' for key, value in matchers.items())

    def _rule(self, alert: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
        return {
            "alert": alert,
            "expr": expr,
            "for": duration,
            "labels": {**self.labels, "severity": severity},
            "annotations": {"summary": summary.format(service=self.service, namespace=self.namespace)},
        }

    def mi_rules(self) -> list[dict[str, Any]]:
        """The rules over the service's own metrics, for the tenants' Prometheus."""
        up = f"up{{{self._selector()}}}"
        kinds = "|".join(MI_KINDS)
        requests = f'{{__name__=~"wso2_integration_({kinds})_request_count_total", {self._selector()}}}'
        errors = f'{{__name__=~"wso2_integration_({kinds})_request_count_error_total", {self._selector()}}}'
        buckets = f'{{__name__=~"wso2_integration_({kinds})_latency_seconds_bucket", {self._selector()}}}'
        return [
            self._rule(
                "IMaaSServiceDown",
                # Pods are there and none answers the scrape. No `absent()`: this Prometheus cannot tell a service
                # whose pods are gone from one never deployed (an Application waits for the service's first build),
                # so "no pod at all" is the platform Prometheus's IMaaSServiceUnavailable, over the Deployment.
                f"max({up}) == 0",
                "5m",
                "critical",
                "{service} in {namespace}: no Micro Integrator answers its metrics scrape",
            ),
            self._rule(
                "IMaaSServiceErrorRatio",
                f"(sum by (service_name) (rate({errors}[5m])) / sum by (service_name) (rate({requests}[5m]))) "
                f"> {ERROR_RATIO}",
                "10m",
                "warning",
                f"{{service}} in {{namespace}}: more than {ERROR_RATIO:.0%} of the requests of an API or proxy fail",
            ),
            self._rule(
                "IMaaSServiceLatencyP95",
                f"histogram_quantile(0.95, sum by (service_name, le) (rate({buckets}[5m]))) > {LATENCY_P95_SECONDS}",
                "10m",
                "warning",
                f"{{service}} in {{namespace}}: the 95th percentile latency of an API or proxy is above "
                f"{LATENCY_P95_SECONDS:g}s",
            ),
        ]

    def workload_rules(self) -> list[dict[str, Any]]:
        """The rules over kube-state-metrics, for the platform's Prometheus: each selects the service's namespace
        and workload by name, so that it reads nothing of another namespace."""
        pods = f'namespace="{self.namespace}", pod=~"{self.workload}-.+"'
        hpa = f'namespace="{self.namespace}", horizontalpodautoscaler="{self.workload}"'
        deployment = f'namespace="{self.namespace}", deployment="{self.workload}"'
        return [
            self._rule(
                "IMaaSServiceUnavailable",
                # Only for a deployed workload: before the service's first build its Deployment does not exist
                # (the placeholder image is refused at admission), kube-state-metrics has no series and nothing
                # fires.
                f"max(kube_deployment_status_replicas_available{{{deployment}}}) == 0",
                "5m",
                "critical",
                "{service} in {namespace}: its Deployment has no available pod",
            ),
            self._rule(
                "IMaaSServiceRestarting",
                f"sum(increase(kube_pod_container_status_restarts_total{{{pods}}}[1h])) > {RESTARTS_PER_HOUR}",
                "0m",
                "warning",
                f"{{service}} in {{namespace}}: containers restarted more than {RESTARTS_PER_HOUR} times in an hour",
            ),
            self._rule(
                "IMaaSServiceCrashLooping",
                f'max(kube_pod_container_status_waiting_reason{{{pods}, reason="CrashLoopBackOff"}}) > 0',
                "5m",
                "critical",
                "{service} in {namespace}: a container is crash-looping",
            ),
            self._rule(
                "IMaaSServiceAtMaxReplicas",
                f"max(kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}) "
                f">= max(kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})",
                "15m",
                "warning",
                "{service} in {namespace}: the autoscaler has run at its maximum for 15 minutes",
            ),
        ]


def service_alerts(tenant: Tenant, environment: str) -> list[ServiceAlerts]:
    """The alerts of every active service of the tenant that runs in `environment`."""
    return [
        ServiceAlerts(tenant.name, environment, service.name)
        for service in tenant.active_services()
        if environment in tenant.service_environments(service)
    ]


def rule_spec(services: list[ServiceAlerts], *, workloads: bool) -> dict[str, Any]:
    """A PrometheusRule's spec: a group per service, over its own metrics or over its workload's."""
    return {
        "groups": [
            {
                "name": f"{service.namespace}.{service.service}.{'workload' if workloads else 'service'}",
                "rules": service.workload_rules() if workloads else service.mi_rules(),
            }
            for service in services
        ]
    }


def receivers_of(tenant: Tenant) -> list[str]:
    """The addresses a tenant's alerts are sent to: its contact, then its file's extra ones."""
    return list(dict.fromkeys([tenant.metadata.contact, *tenant.spec.alerting.emails]))


def alertmanager_config_spec(tenant: Tenant) -> dict[str, Any]:
    """The tenant namespace's AlertmanagerConfig: one route and one e-mail receiver. The relay, sender and
    credentials are Alertmanager's global SMTP settings, so that no tenant namespace holds the relay's password;
    the operator adds the namespace matcher."""
    return {
        "route": {
            "receiver": RECEIVER,
            "groupBy": ["alertname", "imaas_service"],
            "groupWait": "30s",
            "groupInterval": "5m",
            "repeatInterval": "4h",
        },
        "receivers": [
            {
                "name": RECEIVER,
                "emailConfigs": [{"to": address, "sendResolved": True} for address in receivers_of(tenant)],
            }
        ],
    }
