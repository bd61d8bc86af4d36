"""The values the platform gives each chart: only what differs from the chart's defaults."""

from __future__ import annotations

from typing import Any

from imaas.declarations import (
    alerts,
    argocd,
    charts,
    grafana,
    images,
    isolation,
    naming,
    store_clients,
    tenant_config,
)
from imaas.declarations.dashboards import FOLDER_ANNOTATION
from imaas.declarations.log_routing import fluent_bit_config, state_volumes
from imaas.declarations.prometheus import platform_prometheus_spec
from imaas.declarations.store_limits import ObservabilityLimits
from imaas.declarations.telemetry import Endpoints
from imaas.incluster import tenant_config as incluster
from imaas.model.settings import AlertingSettings, GrafanaSettings


def prometheus_operator_crds_values() -> dict[str, Any]:
    # Uninstalling the release would delete the CRDs and with them every monitor and Prometheus of the cluster:
    # Helm leaves resources with this annotation in place.
    return {"crds": {"annotations": {"helm.sh/resource-policy": "keep"}}}


def alertmanager_values(alerting: AlertingSettings | None) -> dict[str, Any]:
    """kube-prometheus-stack's `alertmanager`: the routes of tenant namespaces' AlertmanagerConfig objects, each held
    to its own namespace's alerts, and the relay every e-mail goes through."""
    spec: dict[str, Any] = {
        "alertmanagerConfigSelector": {"matchLabels": naming.platform_labels()},
        "alertmanagerConfigNamespaceSelector": isolation.TENANT_NAMESPACES,
        # The operator's default, stated because tenant isolation rests on it: each object's routes get a
        # `namespace="<its namespace>"` matcher (OnNamespaceExceptForAlertmanagerNamespace or None would not).
        "alertmanagerConfigMatcherStrategy": {"type": "OnNamespace"},
    }
    if alerting is None:
        return {"alertmanagerSpec": spec}
    smtp = {
        "smtp_smarthost": alerting.smarthost,
        "smtp_from": alerting.from_,
        "smtp_require_tls": True,
    }
    if alerting.auth_username is not None:
        # A file the operator mounts from the Secret: the password is in no values, no plan and no log.
        smtp |= {"smtp_auth_username": alerting.auth_username, "smtp_auth_password_file": alerts.SMTP_PASSWORD_FILE}
        spec["secrets"] = [alerts.SMTP_SECRET]
    return {"config": {"global": smtp}, "alertmanagerSpec": spec}


# kube-prometheus-stack's monitors of the control plane. On EKS, AWS runs etcd, the scheduler and the controller
# manager out of the cluster's reach, and kube-proxy serves its metrics on 127.0.0.1 only: the targets would be down
# (and their alerts firing) for ever.
CONTROL_PLANE_MONITORS = ("kubeEtcd", "kubeScheduler", "kubeControllerManager", "kubeProxy")


def control_plane_monitor_values(cluster_kind: str) -> dict[str, Any]:
    if cluster_kind == "eks":
        return {monitor: {"enabled": False} for monitor in CONTROL_PLANE_MONITORS}
    return {}


def kube_prometheus_stack_values(
    endpoints: Endpoints,
    settings: GrafanaSettings,
    alerting: AlertingSettings | None = None,
    cluster_kind: str = "generic",
    proxy_image: str = images.STORE_PROXY_IMAGE,
) -> dict[str, Any]:
    values: dict[str, Any] = {
        # The CRDs come from their own release, installed first (prometheus-operator-crds): Helm builds every
        # object of a release before any hook runs, so the chart's own CRD hook would come too late.
        "crds": {"enabled": False},
        "prometheus": {
            "prometheusSpec": {
                **platform_prometheus_spec(),
                # Its alerts reach Alertmanager's proxy with its own credential (imaas/declarations/store_auth.py).
                "alertingEndpoints": store_clients.platform_alerting_endpoints(endpoints.namespace),
            }
        },
        "alertmanager": charts.merged(
            alertmanager_values(alerting), store_clients.alertmanager_proxy_values(proxy_image)
        ),
        # The tenant and environment labels of each Namespace in `kube_namespace_labels`, which the shared alert rules
        # join with (imaas/declarations/alerts.py): the kube-state-metrics chart's default exports no Kubernetes label.
        "kube-state-metrics": {"metricLabelsAllowlist": [alerts.KSM_NAMESPACE_ALLOWLIST]},
        "grafana": {
            # A Role (and RoleBinding) in the stack's namespace only, instead of the grafana chart's default
            # ClusterRole (grafana 12.4.8 templates/role.yaml, clusterrole.yaml): its sidecars read ConfigMaps and
            # Secrets, which cluster-wide would be every tenant's Secrets.
            "rbac": {"namespaced": True, "namespaces": []},
            "sidecar": {
                "dashboards": {
                    # The chart default (ALL) would provision dashboards from any namespace, tenants' included.
                    "searchNamespace": endpoints.namespace,
                    # The platform's and the chart's dashboards are ConfigMaps: the sidecar reads no Secret.
                    "resource": "configmap",
                    "folderAnnotation": FOLDER_ANNOTATION,
                    "provider": {"foldersFromFilesStructure": True},
                },
                # Grafana reaches no Alertmanager: the chart's Alertmanager data source would let any user who can
                # edit silence every tenant's alerts, and the namespace's fence lets only the two Prometheus in.
                # kube-prometheus-stack's data source is a ConfigMap of the stack's namespace
                # (templates/grafana/configmaps-datasources.yaml); its own namespace, stated.
                "datasources": {
                    "alertmanager": {"enabled": False},
                    "searchNamespace": endpoints.namespace,
                    "resource": "configmap",
                },
            },
            # Organisations, their members and the dashboards tenants make live in Grafana's database: it outlives
            # the pod and the release, like Loki's volume, and a
            # volume that one pod mounts at a time needs the old pod gone before the new one starts.
            "persistence": {
                "enabled": True,
                "size": settings.storage,
                "annotations": {"helm.sh/resource-policy": "keep"},
            },
            "deploymentStrategy": {"type": "Recreate"},
            "additionalDataSources": grafana.main_org_datasources(endpoints),
            "grafana.ini": grafana.grafana_ini(settings, grafana.read_path_hosts(endpoints)),
        },
    }
    values |= control_plane_monitor_values(cluster_kind)
    # The stores' reader passwords, which the provisioned data sources read (imaas/declarations/store_clients.py).
    values["grafana"]["envValueFrom"] = store_clients.grafana_credential_env()
    if settings.oidc is not None:
        values["grafana"]["envValueFrom"][grafana.OIDC_SECRET_ENV] = {
            "secretKeyRef": {"name": grafana.OIDC_SECRET, "key": grafana.OIDC_SECRET_KEY}
        }
    return values


log_limits = tenant_config.log_limits


def loki_values(
    default: ObservabilityLimits, namespace: str = "observability", proxy_image: str = images.STORE_PROXY_IMAGE
) -> dict[str, Any]:
    """Loki's values, the same for any tenant set: each tenant's limits are in the runtime file the job writes."""
    runtime_mount = {"name": "tenant-limits", "mountPath": tenant_config.LOKI_RUNTIME_DIR, "readOnly": True}
    values: dict[str, Any] = {
        # Writes and reads through the gateway need the platform's credential (imaas/declarations/store_auth.py).
        **store_clients.loki_gateway_values(namespace, proxy_image),
        # `SingleBinary` is the deprecated name of the same mode.
        "deploymentMode": "Monolithic",
        "loki": {
            # The chart's default too, stated because tenant isolation rests on it: every push and query must
            # name its tenant (X-Scope-OrgID), and one tenant's streams are never returned to another.
            "auth_enabled": True,
            "commonConfig": {"replication_factor": 1},
            "storage": {"type": "filesystem"},
            "schemaConfig": {
                "configs": [
                    {
                        "from": "2024-04-01",
                        "store": "tsdb",
                        "object_store": "filesystem",
                        "schema": "v13",
                        "index": {"prefix": "loki_index_", "period": "24h"},
                    }
                ]
            },
            # Any tenant id not listed below (the platform's) gets the smallest size's limits.
            "limits_config": log_limits(default),
            # Each tenant's limits: the job's runtime file, which Loki rereads every runtime_config.period (10s), not
            # the chart's own runtime ConfigMap (loki.runtimeConfig, which only Helm writes). Onboarding a tenant
            # restarts nothing and upgrades no release.
            "structuredConfig": {
                "runtime_config": {"file": f"{tenant_config.LOKI_RUNTIME_DIR}/{incluster.LOKI_KEY}", "period": "10s"}
            },
            # Retention is the compactor's: without it retention_period deletes nothing.
            "compactor": {"retention_enabled": True, "delete_request_store": "filesystem"},
        },
        "singleBinary": {
            "replicas": 1,
            # Logs outlive the release, like every other data-holding resource of the platform. The chart renders
            # the StatefulSet's PVC retention policy only when enableStatefulSetAutoDeletePVC is on; the policy
            # then says Retain outright instead of leaning on Kubernetes' default.
            "persistence": {"enableStatefulSetAutoDeletePVC": True, "whenDeleted": "Retain", "whenScaled": "Retain"},
            "extraVolumes": [tenant_config.config_map_volume("tenant-limits", incluster.LOKI_CONFIG_MAP)],
            "extraVolumeMounts": [runtime_mount],
        },
        "read": {"replicas": 0},
        "write": {"replicas": 0},
        "backend": {"replicas": 0},
        "chunksCache": {"enabled": False},
        "resultsCache": {"enabled": False},
        # The canary writes as a tenant of its own, and the chart's test needs the canary.
        "lokiCanary": {"enabled": False},
        "test": {"enabled": False},
    }
    # Loki itself on its pod's loopback, checked again by nginx beside it (imaas/declarations/store_clients.py). Lists
    # are replaced by a merge, as by Helm: the pod's volumes are both sets.
    proxy = store_clients.loki_proxy_values(proxy_image)
    merged = charts.merged(values, proxy)
    merged["singleBinary"]["extraVolumes"] = [
        *values["singleBinary"]["extraVolumes"],
        *proxy["singleBinary"]["extraVolumes"],
    ]
    return merged


def fluent_bit_values(endpoints: Endpoints) -> dict[str, Any]:
    """The same whatever the tenants: each line's tenant is its namespace's label, read at run time
    (imaas/declarations/log_routing.py). A change of the configuration is hot reloaded by the chart's sidecar instead of
    rolling the DaemonSet (the chart drops its config checksum annotation when `hotReload` is on)."""
    # Replacing the default inputs also drops the chart's kubelet journal input, whose records no output here takes.
    return {
        "config": fluent_bit_config(endpoints),
        "hotReload": {"enabled": True},
        **state_volumes(),
        **store_clients.fluent_bit_credential_values(),
    }


def argocd_values(applications: int = argocd.GUIDANCE_APPLICATIONS) -> dict[str, Any]:
    """Sized for the Applications the cluster is expected to hold (imaas/declarations/argocd.py)."""
    values = argocd.argocd_sizing(applications).chart_values()
    # Every tenant AppProject syncs as its namespaces' own deployer account (destinationServiceAccounts).
    values["configs"]["cm"]["application.sync.impersonation.enabled"] = "true"
    return values


def metrics_server_values() -> dict[str, Any]:
    """Two replicas on different nodes, spread over zones where the nodes allow, with a disruption budget: every
    autoscaler of the cluster reads its metrics, and with none an autoscaler holds its replica count. Following the
    upstream high-availability manifest (manifests/components/high-availability): one pod is replaced at a time,
    since a surge pod would find no node the anti-affinity allows on a two-node cluster."""
    pods = {
        "matchLabels": {
            "app.kubernetes.io/name": charts.METRICS_SERVER.name,
            "app.kubernetes.io/instance": (charts.METRICS_SERVER.release),
        }
    }
    return {
        "replicas": 2,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "affinity": {
            "podAntiAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": pods, "topologyKey": "kubernetes.io/hostname"}
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": pods,
            }
        ],
    }


def external_secrets_values() -> dict[str, Any]:
    """External Secrets Operator with its CRDs, processing namespaced stores and ExternalSecrets only: no cluster-wide
    store, ExternalSecret or generator is ever acted on (a ClusterSecretStore would read for every namespace), and no
    PushSecret (which writes out of the cluster)."""
    return {
        "installCRDs": True,
        "processClusterStore": False,
        "processClusterExternalSecret": False,
        "processClusterPushSecret": False,
        "processClusterGenerator": False,
        "processPushSecret": False,
    }


def cert_manager_values() -> dict[str, Any]:
    """cert-manager with its CRDs (kept when the release goes, as the chart advises: deleting them deletes every
    certificate), each certificate's Secret owned by its Certificate."""
    return {"crds": {"enabled": True, "keep": True}, "enableCertificateOwnerRef": True}
