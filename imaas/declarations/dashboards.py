"""The platform's Grafana data sources, and each tenant's WSO2 Micro Integrator dashboard, which reads its own
organisation's data sources (imaas/declarations/grafana.py) with every query fixed to the tenant's own namespaces
too."""

from __future__ import annotations

from typing import Any

from imaas.declarations.store_clients import reader_basic_auth
from imaas.declarations.telemetry import LOKI_TENANT_HEADER, PLATFORM_LOG_TENANT, Endpoints, TenantTelemetry
from imaas.incluster.grafana_sync import MANAGED_PREFIX

# The Grafana sidecar's labels, as kube-prometheus-stack sets them by default, and the annotation naming the folder:
# what it provisions lands in the main organisation, the platform's.
DASHBOARD_LABEL = ("grafana_dashboard", "1")
DATASOURCE_LABEL = ("grafana_datasource", "1")
FOLDER_ANNOTATION = "grafana_folder"
# The main organisation's: the tenants' Prometheus unfiltered (imaas/declarations/prometheus.py; the chart's own, uid
# `prometheus`, holds no tenant series) and the platform's Loki tenant.
TENANT_PROMETHEUS_DATASOURCE_UID = "prometheus-tenants"
PLATFORM_LOKI_UID = f"loki-{PLATFORM_LOG_TENANT}"
# Every tenant organisation's data sources (uids are per organisation).
LOGS_UID, METRICS_UID, TRACES_UID = f"{MANAGED_PREFIX}logs", f"{MANAGED_PREFIX}metrics", f"{MANAGED_PREFIX}traces"


def loki_datasource(name: str, uid: str, log_tenant: str, endpoints: Endpoints) -> dict[str, Any]:
    """A Grafana Loki data source that reads one Loki tenant, and only that one, as Grafana (the gateway's reader)."""
    source: dict[str, Any] = {
        "name": name,
        "uid": uid,
        "type": "loki",
        "access": "proxy",
        "url": endpoints.loki_url,
        "editable": False,
        "jsonData": {"httpHeaderName1": LOKI_TENANT_HEADER},
        "secureJsonData": {"httpHeaderValue1": log_tenant},
    }
    credential = reader_basic_auth("loki")
    return {
        **source,
        "basicAuth": credential["basicAuth"],
        "basicAuthUser": credential["basicAuthUser"],
        "secureJsonData": {**source["secureJsonData"], **credential["secureJsonData"]},
    }


def tenant_prometheus_datasource(endpoints: Endpoints) -> dict[str, Any]:
    """The Grafana data source of the tenants' Prometheus, which the tenant dashboards read."""
    return {
        "name": "Prometheus (tenants)",
        "uid": TENANT_PROMETHEUS_DATASOURCE_UID,
        "type": "prometheus",
        "access": "proxy",
        "url": endpoints.tenant_prometheus_url,
        "editable": False,
        "jsonData": {"httpMethod": "POST"},
    }


def _panel(
    panel_id: int, title: str, expr: str, legend: str, position: tuple[int, int, int, int], unit: str
) -> dict[str, Any]:
    x, y, width, height = position
    datasource = {"type": "prometheus", "uid": METRICS_UID}
    return {
        "id": panel_id,
        "type": "timeseries",
        "title": title,
        "datasource": datasource,
        "gridPos": {"x": x, "y": y, "w": width, "h": height},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "datasource": datasource, "expr": expr, "legendFormat": legend}],
    }


def tenant_dashboard(telemetry: TenantTelemetry) -> dict[str, Any]:
    """The tenant's WSO2 Micro Integrator dashboard. Every query is fixed to the tenant's namespaces: no variable
    a viewer could point at someone else's."""
    selector = f'namespace=~"{telemetry.namespace_regex}"'
    by_service = "namespace, service_name"
    rate = "[$__rate_interval]"
    per_service = "{{namespace}} {{service_name}}"

    def requests(kind: str) -> str:
        return f"sum by ({by_service}) (rate(wso2_integration_{kind}_request_count_total{{{selector}}}{rate}))"

    def errors(kind: str) -> str:
        return f"sum by ({by_service}) (rate(wso2_integration_{kind}_request_count_error_total{{{selector}}}{rate}))"

    def latency(kind: str) -> str:
        buckets = f"rate(wso2_integration_{kind}_latency_seconds_bucket{{{selector}}}{rate})"
        return f"histogram_quantile(0.95, sum by (le, {by_service}) ({buckets}))"

    panels = [
        _panel(1, "Servers up", f"sum by (namespace) (wso2_integration_server_up{{{selector}}})", "{{namespace}}",
               (0, 0, 12, 6), "short"),
        _panel(2, "Services up", f"sum by ({by_service}) (wso2_integration_service_up{{{selector}}})", per_service,
               (12, 0, 12, 6), "short"),
        _panel(3, "API requests", requests("api"), per_service, (0, 6, 8, 8), "reqps"),
        _panel(4, "API errors", errors("api"), per_service, (8, 6, 8, 8), "reqps"),
        _panel(5, "API latency p95", latency("api"), per_service, (16, 6, 8, 8), "s"),
        _panel(6, "Proxy service requests", requests("proxy"), per_service, (0, 14, 8, 8), "reqps"),
        _panel(7, "Proxy service errors", errors("proxy"), per_service, (8, 14, 8, 8), "reqps"),
        _panel(8, "Proxy service latency p95", latency("proxy"), per_service, (16, 14, 8, 8), "s"),
        _panel(9, "Inbound endpoint requests", requests("inbound_endpoint"), per_service, (0, 22, 12, 8), "reqps"),
        _panel(10, "Inbound endpoint errors", errors("inbound_endpoint"), per_service, (12, 22, 12, 8), "reqps"),
    ]  # fmt: skip
    logs_source = {"type": "loki", "uid": LOGS_UID}
    panels.append(
        {
            "id": 11,
            "type": "logs",
            "title": "Logs",
            "datasource": logs_source,
            "gridPos": {"x": 0, "y": 30, "w": 24, "h": 10},
            "targets": [{"refId": "A", "datasource": logs_source, "expr": f"{{{selector}}}"}],
        }
    )
    return {
        "uid": telemetry.dashboard_uid,
        "title": f"{telemetry.tenant} · WSO2 Micro Integrator",
        "tags": ["imaas", "wso2mi", telemetry.tenant],
        "editable": False,
        "timezone": "utc",
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "schemaVersion": 39,
        "templating": {"list": []},
        "panels": panels,
    }
