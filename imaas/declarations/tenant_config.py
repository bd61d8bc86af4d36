"""What the shared stores and Grafana need of each tenant, declared by the tenant and merged in the cluster.

Each tenant's component declares one ConfigMap in the observability namespace, `imaas-tenant-<tenant>`, labelled
`imaas.io/tenant-config: "true"`, holding its Loki limits, its Tempo overrides, the environments its traces come from
and its Grafana organisation (the groups of each role, its data sources and dashboard). The shared stack declares,
once and for any tenant set: the job that merges those objects (imaas/incluster/tenant_config.py) with its
ServiceAccount and the RBAC to list ConfigMaps of that namespace and write three of them, its settings, and those
three runtime files, empty, which Loki, Tempo and the collector mount and the job fills. So adding, changing or
retiring a tenant changes no Helm release and restarts no shared pod."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from imaas.declarations import grafana, isolation, store_clients
from imaas.declarations.store_limits import ObservabilityLimits
from imaas.declarations.telemetry import CLUSTER_DOMAIN, Endpoints, TenantTelemetry
from imaas.incluster import collector_reload, grafana_sync
from imaas.incluster import tenant_config as incluster
from imaas.model.settings import GrafanaSettings

LABEL = incluster.TENANT_CONFIG_LABEL
CONFIG_KEY, ORG_KEY = incluster.CONFIG_KEY, incluster.ORG_KEY
DAY_HOURS = 24
MB = 1_000_000
# Tempo's per-tenant overrides replace a tenant's whole block: an unset field is 0, which for most limits means no
# limit (grafana/tempo#4996), so every field the platform relies on is written for every tenant.
MAX_TRACE_BYTES = 5 * MB

# The job's code, mounted from one ConfigMap as the package layout it imports (imaas/incluster/*.py, a namespace
# package in the pod), and its settings.
CODE_DIR = "/opt/imaas"
MODULES = (grafana_sync, incluster, collector_reload)
SETTINGS_KEY = "settings.json"
ENTRY = "imaas.incluster.tenant_config"
# When the job runs (cron): a new tenant's organisation, users and data sources appear within minutes.
RECONCILE_SCHEDULE = "*/5 * * * *"
RELOADER_ENTRY = "imaas.incluster.collector_reload"
# Where the stores mount the runtime files (a directory each: a subPath mount would never be refreshed).
LOKI_RUNTIME_DIR = "/etc/imaas/loki"
TEMPO_OVERRIDES_DIR = "/etc/imaas/tempo"
COLLECTOR_ROUTES_DIR = "/etc/imaas/collector"
# What the job's ServiceAccount may do, in the observability namespace only. RBAC cannot narrow `list` by label: the
# job asks for the tenant-config label, and may read the namespace's ConfigMaps (no Secret).
RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
    {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["get", "patch"],
        "resourceNames": list(incluster.OUTPUTS),
    },
]


def config_map_name(tenant: str) -> str:
    return incluster.config_map_name(tenant)


def log_limits(limits: ObservabilityLimits) -> dict[str, Any]:
    """One tenant's Loki limits (`limits_config` keys): a tenant's unset keys keep the defaults."""
    return {
        "ingestion_rate_mb": limits.log_rate_mb,
        "ingestion_burst_size_mb": limits.log_burst_mb,
        "retention_period": f"{limits.log_retention_days * DAY_HOURS}h",
    }


def trace_limits(limits: ObservabilityLimits) -> dict[str, Any]:
    """One tenant's Tempo overrides (the new format), every field given."""
    return {
        "ingestion": {
            "rate_strategy": "local",
            "rate_limit_bytes": int(limits.trace_rate_mb * MB),
            "burst_size_bytes": int(limits.trace_burst_mb * MB),
            "max_traces_per_user": limits.max_live_traces,
        },
        "global": {"max_bytes_per_trace": MAX_TRACE_BYTES},
        "compaction": {"block_retention": f"{limits.trace_retention_days * DAY_HOURS}h"},
    }


def tenant_config(telemetry: TenantTelemetry, org: grafana.GrafanaOrg) -> dict[str, Any]:
    """The tenant's own configuration (`tenant.json`), as the in-cluster job checks and merges it."""
    return {
        "tenant": telemetry.tenant,
        "environments": list(telemetry.environments),
        "logs": log_limits(telemetry.limits),
        "traces": trace_limits(telemetry.limits),
        "grafana": {"editors": sorted(org.editors), "viewers": sorted(org.viewers)},
    }


def tenant_config_data(telemetry: TenantTelemetry, org: grafana.GrafanaOrg, endpoints: Endpoints) -> dict[str, str]:
    return {
        CONFIG_KEY: json.dumps(tenant_config(telemetry, org), indent=1, sort_keys=True),
        ORG_KEY: grafana.org_state_json(telemetry, endpoints),
    }


def job_settings(namespace: str, environments: list[str], settings: GrafanaSettings) -> dict[str, Any]:
    """The job's settings (`settings.json`): the same for any tenant set."""
    return {
        "namespace": namespace,
        "environments": list(environments),
        "adminGroups": list(settings.admin_groups),
        "sso": grafana.sso_settings(settings),
        "tempoOtlpEndpoint": Endpoints(namespace).tempo_otlp_grpc,
        # What each tenant exporter of the collector's routes file sends besides the tenant's id: the collector's
        # credential at Tempo's proxy, named by its environment variable (the collector's pod has it from its
        # Secret), never its value.
        "tempoWriterHeaders": store_clients.tempo_writer_headers(),
    }


def code_data(namespace: str, environments: list[str], settings: GrafanaSettings) -> dict[str, str]:
    """The job's ConfigMap: its modules, by file name, and its settings."""
    data = {
        Path(str(module.__file__)).name: Path(str(module.__file__)).read_text(encoding="utf-8") for module in MODULES
    }
    return {**data, SETTINGS_KEY: json.dumps(job_settings(namespace, environments, settings), indent=1, sort_keys=True)}


def code_volume(name: str = "code") -> dict[str, Any]:
    """The job's ConfigMap as the package layout its modules import each other by."""
    items = [
        {"key": Path(str(module.__file__)).name, "path": f"imaas/incluster/{Path(str(module.__file__)).name}"}
        for module in MODULES
    ]
    return {
        "name": name,
        "configMap": {"name": grafana.RECONCILER, "items": [*items, {"key": SETTINGS_KEY, "path": SETTINGS_KEY}]},
    }


def initial_outputs() -> dict[str, dict[str, str]]:
    """The three runtime files as the platform creates them: no tenant yet. The job writes them from then on; the
    platform never writes their data again (ignoreChanges)."""
    return {
        incluster.LOKI_CONFIG_MAP: {incluster.LOKI_KEY: incluster.render(incluster.loki_runtime_config([]))},
        incluster.TEMPO_CONFIG_MAP: {incluster.TEMPO_KEY: incluster.render(incluster.tempo_overrides([]))},
        incluster.COLLECTOR_CONFIG_MAP: {
            incluster.COLLECTOR_KEY: incluster.render(incluster.collector_routes([], "unused"))
        },
    }


def reconciler_cron_job_spec(namespace: str, image: str) -> dict[str, Any]:
    """The job that merges the tenants' objects: its code and settings mounted from a ConfigMap, its identity its
    own ServiceAccount's token, the Grafana admin password from the chart's Secret, which never leaves it. Nothing
    in it names a tenant."""

    def admin(key: str) -> dict[str, Any]:
        return {"valueFrom": {"secretKeyRef": {"name": grafana.GRAFANA_ADMIN_SECRET, "key": key}}}

    env = {
        "GRAFANA_URL": {"value": f"http://{grafana.GRAFANA_SERVICE}.{namespace}.svc.{CLUSTER_DOMAIN}"},
        "GRAFANA_USER": admin(grafana.GRAFANA_ADMIN_USER_KEY),
        "GRAFANA_PASSWORD": admin(grafana.GRAFANA_ADMIN_PASSWORD_KEY),
        # The stores' reader passwords, which the job writes into each organisation's data sources
        # (grafana_sync.with_credentials expands the `$IMAAS_...` the desired state names them by).
        **{name: {"valueFrom": value} for name, value in store_clients.grafana_credential_env().items()},
        "SETTINGS_FILE": {"value": f"{CODE_DIR}/{SETTINGS_KEY}"},
        "PYTHONPATH": {"value": CODE_DIR},
        "PYTHONDONTWRITEBYTECODE": {"value": "1"},
    }
    pod = {
        "restartPolicy": "Never",
        "serviceAccountName": grafana.RECONCILER,
        "automountServiceAccountToken": True,
        "containers": [
            {
                "name": "reconcile",
                "image": image,
                "command": ["python", "-m", ENTRY],
                "env": [{"name": name, **value} for name, value in env.items()],
                "volumeMounts": [{"name": "code", "mountPath": CODE_DIR, "readOnly": True}],
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                "securityContext": isolation.RESTRICTED_CONTAINER,
            }
        ],
        "volumes": [code_volume()],
    }
    return {
        "schedule": RECONCILE_SCHEDULE,
        "concurrencyPolicy": "Forbid",
        "successfulJobsHistoryLimit": 1,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": {
            "spec": {
                "backoffLimit": 2,
                "activeDeadlineSeconds": 600,
                "template": {"metadata": {"labels": grafana.RECONCILER_POD_LABELS}, "spec": pod},
            }
        },
    }


def config_map_volume(name: str, config_map: str) -> dict[str, Any]:
    return {"name": name, "configMap": {"name": config_map}}
