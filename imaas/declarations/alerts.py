"""Each tenant's alerts and where they go: one set of rules for every tenant service, written once, and a route
to each tenant namespace's own receivers that no other namespace's alert can take.

The rules do not name a tenant or a service. Each aggregates `by (namespace, service)` and fires once per service
that breaks, and takes the labels the routes and the tenant read (`imaas_tenant`, `imaas_environment`,
`imaas_service`) from the series' namespace at run time, never from what a pod sends: aggregating drops every label
a pod exposes, and those three are written after it. Adding a tenant or a service changes no rule, so the rule
count and the operator's rule ConfigMaps stay constant (a Prometheus restart for each ConfigMap beyond three).

Two Prometheus evaluate them, each over what it scrapes, each from one PrometheusRule in the stack's namespace:

- The tenants' Prometheus has the services' own metrics (WSO2 MI's Prometheus API, through the platform's
  PodMonitor). It scrapes tenant namespaces only, and the operator sets every series' `namespace` to its monitor's
  namespace after every relabelling, and `honor_labels` is off for every monitor: a pod cannot claim another
  namespace. Its rule is excluded from the namespace enforcement (which would fix it to the stack's namespace);
  tenant and environment come from the namespace name (`<tenant>-<env>`, a contract), since this Prometheus has no
  kube-state-metrics to join with.
- The platform's Prometheus has kube-state-metrics, whose `namespace` label is the object's. Tenant and environment
  come from the namespace's own `imaas.io/tenant` and `imaas.io/environment` labels (kube-state-metrics exports them
  in `kube_namespace_labels`), which only the platform sets; a namespace without them gets no alert.

Thresholds are data: a rule compares with `imaas_alert_threshold{alert="<name>"}` of the series' namespace where one
exists, else with the platform's default. A tenant whose thresholds differ gets them as recording rules of its own
(for the tenants' Prometheus in its namespace, where the enforcement fixes their `namespace`; for the platform's in
the stack's namespace); none differs today, so no tenant has one.

Every alert carries its namespace, and each tenant namespace's AlertmanagerConfig, which the Prometheus Operator
restricts to alerts of its own namespace (matcher strategy OnNamespace), sends them to the tenant's contact and
extra addresses only.

Metric names are WSO2 MI's MetricConstants (org.wso2.micro.integrator.observability): counters
`wso2_integration_<kind>_request_count_total` and `..._request_count_error_total`, histograms
`wso2_integration_<kind>_latency_seconds`, labelled `service_name` (the API or proxy), for kinds api, proxy,
inbound_endpoint and data_service.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from imaas.declarations import naming
from imaas.model.names import ENVIRONMENTS
from imaas.model.tenant import Tenant

API_VERSION = "monitoring.coreos.com/v1"
CONFIG_API_VERSION = "monitoring.coreos.com/v1alpha1"
SERVICE_RULES_NAME = "imaas-tenant-services"
"""The rules of every tenant service over its own metrics, in the stack's namespace, for the tenants' Prometheus."""
WORKLOAD_RULES_NAME = "imaas-tenant-workloads"
"""The rules of every tenant service over kube-state-metrics, in the stack's namespace, for the platform's."""
THRESHOLD_RULES_NAME = "imaas-alert-thresholds"
"""A tenant namespace's own thresholds, where they differ from the defaults."""
ALERTMANAGER_CONFIG_NAME = "imaas-alerts"
RECEIVER = "tenant"
# The Deployment of a service in its namespace: the template's `wso2mi-service` (templates/service/deploy/base),
# prefixed with the service's name by its Argo CD Application (imaas/declarations/applications.py).
TEMPLATE_WORKLOAD = "wso2mi-service"
# The label the platform's PodMonitor copies from a pod (podTargetLabels), as Prometheus spells it.
SERVICE_TARGET_LABEL = "imaas_io_service"
MI_KINDS = ("api", "proxy", "inbound_endpoint", "data_service")
# kube-prometheus-stack's Prometheus selects rules with its release label (ruleSelectorNilUsesHelmValues).
PLATFORM_RULE_LABEL = ("release", "kube-prometheus-stack")
# The tenants' Prometheus selects rules with this label (and the platform's managed-by label).
TENANT_PROMETHEUS_RULE_LABEL = ("imaas.io/prometheus", "tenants")
# kube-prometheus-stack names its Alertmanager's Service `<release>-alertmanager`, web port `http-web`.
ALERTMANAGER_SERVICE = "kube-prometheus-stack-alertmanager"
ALERTMANAGER_PORT_NAME = "http-web"
SMTP_SECRET = "imaas-alertmanager-smtp"
SMTP_PASSWORD_KEY = "password"
# Where the operator mounts each Secret of alertmanagerSpec.secrets.
SMTP_PASSWORD_FILE = f"/etc/alertmanager/secrets/{SMTP_SECRET}/{SMTP_PASSWORD_KEY}"

# The labels every alert carries besides `namespace`, and the series a tenant's own thresholds are recorded as.
TENANT = "imaas_tenant"
ENVIRONMENT = "imaas_environment"
SERVICE = "imaas_service"
THRESHOLD_METRIC = "imaas_alert_threshold"
# kube-state-metrics' spelling of the namespace labels it is allowed to export (metricLabelsAllowlist).
KSM_NAMESPACE_LABELS = "kube_namespace_labels"
KSM_TENANT_LABEL = "label_imaas_io_tenant"
KSM_ENVIRONMENT_LABEL = "label_imaas_io_environment"
KSM_NAMESPACE_ALLOWLIST = f"namespaces=[{naming.TENANT_LABEL},{naming.ENVIRONMENT_LABEL}]"
# What the platform's Prometheus knows of each tenant namespace: one series per namespace, with its tenant and
# environment, recorded from kube-state-metrics.
NAMESPACE_INFO = "imaas:namespace_tenant:info"

DOWN = "IMaaSServiceDown"
ERROR_RATIO = "IMaaSServiceErrorRatio"
LATENCY = "IMaaSServiceLatencyP95"
UNAVAILABLE = "IMaaSServiceUnavailable"
RESTARTING = "IMaaSServiceRestarting"
CRASH_LOOPING = "IMaaSServiceCrashLooping"
AT_MAX_REPLICAS = "IMaaSServiceAtMaxReplicas"
DEFAULT_THRESHOLDS: dict[str, float] = {ERROR_RATIO: 0.05, LATENCY: 2.0, RESTARTING: 3}
"""Every threshold a tenant could set, and what it is where the tenant sets none (today: every tenant)."""
MI_ALERTS = frozenset({DOWN, ERROR_RATIO, LATENCY})
"""The alerts of the tenants' Prometheus; the others are the platform's."""

_ENVIRONMENTS = "|".join(ENVIRONMENTS)
_PODS = f".+-{TEMPLATE_WORKLOAD}-[^-]+-[^-]+"
_SERVICE_OF_POD = f"(.+)-{TEMPLATE_WORKLOAD}-[^-]+-[^-]+"
_SERVICE_OF_WORKLOAD = f"(.+)-{TEMPLATE_WORKLOAD}"


def _rule(alert: str, expr: str, duration: str, severity: str, summary: str) -> dict[str, Any]:
    return {
        "alert": alert,
        "expr": expr,
        "for": duration,
        "labels": {"severity": severity},
        "annotations": {"summary": f"{{{{ $labels.{SERVICE} }}}} in {{{{ $labels.namespace }}}}: {summary}"},
    }


def _mi(metric: str) -> str:
    """A selector of one WSO2 MI metric of every kind, on series the platform's PodMonitor scraped."""
    kinds = "|".join(MI_KINDS)
    return f'{{__name__=~"wso2_integration_({kinds})_{metric}", {SERVICE_TARGET_LABEL}!=""}}'


def _by_service(aggregation: str, expr: str, *extra: str) -> str:
    """`expr` aggregated per namespace and service (and `extra` labels), with the service as `imaas_service`: every
    other label is dropped, whatever the pod exposed."""
    by = ", ".join(["namespace", SERVICE, *extra])
    return f'{aggregation} by ({by}) (label_replace({expr}, "{SERVICE}", "$1", "{SERVICE_TARGET_LABEL}", "(.+)"))'


def _named_by_namespace(expr: str) -> str:
    """`expr` with tenant and environment taken from its namespace name, `<tenant>-<env>` (the tenants'
    Prometheus, whose series all come from tenant namespaces)."""
    tenant = f'label_replace({expr}, "{TENANT}", "$1", "namespace", "(.+)-(?:{_ENVIRONMENTS})")'
    return f'label_replace({tenant}, "{ENVIRONMENT}", "$1", "namespace", ".+-({_ENVIRONMENTS})")'


def _of_tenant_namespaces(expr: str) -> str:
    """`expr` (one series per namespace and service) for tenant namespaces only, with their tenant and environment
    from the namespace's own labels (the platform's Prometheus)."""
    return f"({expr}) * on (namespace) group_left ({TENANT}, {ENVIRONMENT}) {NAMESPACE_INFO}"


def _threshold(alert: str, namespaces: str) -> str:
    """The threshold of `alert` in each namespace of `namespaces` (one series per namespace): the namespace's own
    where it has one, else the default. Only recorded series count (they have no `job`; every scraped one has):
    a pod exposing `imaas_alert_threshold` changes nothing."""
    default = DEFAULT_THRESHOLDS[alert]
    return (
        f'(max by (namespace) ({THRESHOLD_METRIC}{{alert="{alert}", job=""}}) '
        f"or on (namespace) (group by (namespace) ({namespaces}) * 0 + {default:g}))"
    )


def service_down_rule() -> dict[str, Any]:
    """Pods are there and none answers the metrics scrape. No `absent()`: one rule for every service cannot know of
    a service with no pod at all, nor tell a service whose pods are gone from one never deployed (an Application
    waits for the service's first build); the platform's IMaaSServiceUnavailable covers it, over the Deployment."""
    up = f'up{{{SERVICE_TARGET_LABEL}!=""}}'
    return _rule(
        DOWN,
        _named_by_namespace(f"{_by_service('max', up)} == 0"),
        "5m",
        "critical",
        "no Micro Integrator answers its metrics scrape",
    )


def service_rules() -> list[dict[str, Any]]:
    """The rules over the services' own metrics, for the tenants' Prometheus."""
    up = f'up{{{SERVICE_TARGET_LABEL}!=""}}'
    errors = _by_service("sum", f"rate({_mi('request_count_error_total')}[5m])", "service_name")
    requests = _by_service("sum", f"rate({_mi('request_count_total')}[5m])", "service_name")
    buckets = _by_service("sum", f"rate({_mi('latency_seconds_bucket')}[5m])", "service_name", "le")
    return [
        service_down_rule(),
        _rule(
            ERROR_RATIO,
            _named_by_namespace(
                f"({errors} / {requests}) > on (namespace) group_left () {_threshold(ERROR_RATIO, up)}"
            ),
            "10m",
            "warning",
            "{{ $value | humanizePercentage }} of the requests of {{ $labels.service_name }} fail",
        ),
        _rule(
            LATENCY,
            _named_by_namespace(
                f"histogram_quantile(0.95, {buckets}) > on (namespace) group_left () {_threshold(LATENCY, up)}"
            ),
            "10m",
            "warning",
            "the 95th percentile latency of {{ $labels.service_name }} is {{ $value | humanizeDuration }}",
        ),
    ]


def _by_workload(aggregation: str, expr: str, source: str, pattern: str) -> str:
    """`expr` (kube-state-metrics) aggregated per namespace and service, the service read from the name of its
    workload (`source`, matched by `pattern`)."""
    return (
        f'{aggregation} by (namespace, {SERVICE}) (label_replace({expr}, "{SERVICE}", "$1", "{source}", "{pattern}"))'
    )


def namespace_info_rule() -> dict[str, Any]:
    """One series per tenant namespace, with its tenant and environment, from the Namespace's own labels."""
    labels = f'{KSM_NAMESPACE_LABELS}{{{KSM_TENANT_LABEL}!="", {KSM_ENVIRONMENT_LABEL}!=""}}'
    tenant = f'label_replace({labels}, "{TENANT}", "$1", "{KSM_TENANT_LABEL}", "(.+)")'
    environment = f'label_replace({tenant}, "{ENVIRONMENT}", "$1", "{KSM_ENVIRONMENT_LABEL}", "(.+)")'
    return {"record": NAMESPACE_INFO, "expr": f"max by (namespace, {TENANT}, {ENVIRONMENT}) ({environment})"}


def workload_rules() -> list[dict[str, Any]]:
    """The rules over kube-state-metrics, for the platform's Prometheus: the template's workloads (`<service>-` +
    `wso2mi-service`) of tenant namespaces."""
    pods = f'pod=~"{_PODS}"'
    deployment = f'deployment=~".+-{TEMPLATE_WORKLOAD}"'
    hpa = f'horizontalpodautoscaler=~".+-{TEMPLATE_WORKLOAD}"'
    restarts = _by_workload(
        "sum", f"increase(kube_pod_container_status_restarts_total{{{pods}}}[1h])", "pod", _SERVICE_OF_POD
    )
    waiting = f'kube_pod_container_status_waiting_reason{{{pods}, reason="CrashLoopBackOff"}}'
    current = f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}}"
    maximum = f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}"
    return [
        namespace_info_rule(),
        _rule(
            UNAVAILABLE,
            # Only for a deployed workload: before the service's first build its Deployment does not exist (the
            # placeholder image is refused at admission), kube-state-metrics has no series and nothing fires.
            _of_tenant_namespaces(
                _by_workload(
                    "max",
                    f"kube_deployment_status_replicas_available{{{deployment}}}",
                    "deployment",
                    _SERVICE_OF_WORKLOAD,
                )
                + " == 0"
            ),
            "5m",
            "critical",
            "its Deployment has no available pod",
        ),
        _rule(
            RESTARTING,
            _of_tenant_namespaces(
                f"{restarts} > on (namespace) group_left () {_threshold(RESTARTING, NAMESPACE_INFO)}"
            ),
            "0m",
            "warning",
            "containers restarted {{ $value | humanize }} times in an hour",
        ),
        _rule(
            CRASH_LOOPING,
            _of_tenant_namespaces(f"{_by_workload('max', waiting, 'pod', _SERVICE_OF_POD)} > 0"),
            "5m",
            "critical",
            "a container is crash-looping",
        ),
        _rule(
            AT_MAX_REPLICAS,
            _of_tenant_namespaces(
                f"{_by_workload('max', current, 'horizontalpodautoscaler', _SERVICE_OF_WORKLOAD)} "
                f">= {_by_workload('max', maximum, 'horizontalpodautoscaler', _SERVICE_OF_WORKLOAD)}"
            ),
            "15m",
            "warning",
            "the autoscaler has run at its maximum for 15 minutes",
        ),
    ]


def service_rule_spec() -> dict[str, Any]:
    """The PrometheusRule spec of the tenants' Prometheus: one group, whatever the tenants."""
    return {"groups": [{"name": "imaas.tenant-services", "rules": service_rules()}]}


def workload_rule_spec() -> dict[str, Any]:
    """The PrometheusRule spec of the platform's Prometheus: one group, whatever the tenants."""
    return {"groups": [{"name": "imaas.tenant-workloads", "rules": workload_rules()}]}


def active_in(tenant: Tenant, environment: str) -> bool:
    """Whether the tenant has an active service in `environment`: only then does its namespace get routes."""
    return bool(tenant.active_services_in(environment))


def tenant_thresholds(tenant: Tenant, environment: str) -> dict[str, float]:
    """The thresholds of a tenant namespace that differ from the defaults. The tenant file has no threshold today,
    so none differs: this is where a tenant's own would be read."""
    del tenant, environment
    return {}


def threshold_rule_spec(namespace: str, thresholds: Mapping[str, float]) -> dict[str, Any]:
    """A tenant namespace's thresholds as recording rules, one `imaas_alert_threshold` series per alert. The
    namespace is written out for the platform's Prometheus, which enforces none; in a tenant namespace the tenants'
    Prometheus sets the same value itself."""
    unknown = set(thresholds) - set(DEFAULT_THRESHOLDS)
    if unknown:
        raise ValueError(f"no threshold for {sorted(unknown)}")
    return {
        "groups": [
            {
                "name": f"imaas.thresholds.{namespace}",
                "rules": [
                    {
                        "record": THRESHOLD_METRIC,
                        "expr": f"vector({value:g})",
                        "labels": {"namespace": namespace, "alert": alert},
                    }
                    for alert, value in sorted(thresholds.items())
                ],
            }
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
