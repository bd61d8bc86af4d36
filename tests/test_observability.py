"""The shared observability stack and each tenant's view of it, on both stacks, under mocks: the pinned releases and
their wiring, each tenant's log route, Loki data source and dashboard, the PodMonitors and the network rules that
let the stack in (the scrape) and tenants out (OTLP), and nothing of it when the stack is switched off."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import yaml
from crd_schemas import validate_custom
from planning import PROJECT_DIR, example_plan, of_type, plan_stack
from tokens import (
    APP_PROJECT,
    CONFIG_MAP,
    NAMESPACE,
    NETWORK_POLICY,
    OBSERVABILITY_COMPONENT,
    POD_MONITOR,
    PROMETHEUS,
    RELEASE,
    ROLE,
    ROLE_BINDING,
    SERVICE,
    SERVICE_ACCOUNT,
    VIEW_COMPONENT,
)

from imaas.declarations import charts, prometheus, store_auth
from imaas.declarations.naming import RESERVED_TENANT_NAMES
from imaas.declarations.telemetry import COLLECTOR_POD_LABELS, PLATFORM_LOG_TENANT
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import settings_from_config
from imaas.model.settings import TenantPrometheusSettings
from imaas.plan.record import Plan, PlannedResource

OBSERVABILITY = "observability"
NAME_LABEL = "kubernetes.io/metadata.name"

# Chart, repository and pinned version of each release, checked against the charts' upstream Chart.yaml files.
EXPECTED_RELEASES = {
    "prometheus-operator-crds": (
        "prometheus-operator-crds",
        "https://prometheus-community.github.io/helm-charts",
        "29.0.0",
    ),
    "kube-prometheus-stack": ("kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "86.3.2"),
    "loki": ("loki", "https://grafana-community.github.io/helm-charts", "18.11.0"),
    "fluent-bit": ("fluent-bit", "https://fluent.github.io/helm-charts", "0.58.1"),
    "tempo": ("tempo", "https://grafana-community.github.io/helm-charts", "2.2.4"),
    "opentelemetry-collector": (
        "opentelemetry-collector",
        "https://open-telemetry.github.io/opentelemetry-helm-charts",
        "0.170.0",
    ),
}
# Each example tenant's namespaces on each stack (orders and hr have every environment, payments dev and prod).
EXPECTED_TENANT_NAMESPACES = {
    "dev": {"orders": {"orders-dev", "orders-test"}, "hr": {"hr-dev", "hr-test"}, "payments": {"payments-dev"}},
    "prod": {"orders": {"orders-prod"}, "hr": {"hr-prod"}, "payments": {"payments-prod"}},
}
LOKI_HOST = "loki-gateway.observability.svc.cluster.local"
TENANT_PROMETHEUS_URL = "http://prometheus-tenants.observability.svc.cluster.local:9090"
MONITOR_KINDS = ("serviceMonitor", "podMonitor", "probe", "scrapeConfig", "rule")


# Releases that are not the observability stack's: the autoscalers' metrics (tests/test_service_scaling.py) and the
# operators of tenants' secrets and certificates (tests/test_runtime_needs.py).
OTHER_RELEASES = ("metrics-server", "external-secrets", "cert-manager")


def releases(plan: Plan) -> dict[str, PlannedResource]:
    """The observability stack's releases (and Argo CD's, where installed)."""
    return {resource.name: resource for resource in of_type(plan, RELEASE) if resource.name not in OTHER_RELEASES}


def values(plan: Plan, release: str) -> dict:
    return releases(plan)[release].inputs["values"]


def tenant_namespaces(plan: Plan) -> set[str]:
    return {resource.name for resource in of_type(plan, NAMESPACE) if "$imaas:index:Tenant$" in resource.urn}


def tenant_prometheus(plan: Plan) -> PlannedResource:
    (found,) = of_type(plan, PROMETHEUS)
    return found


def selects(selector: dict | None, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector matches `labels`; an unset selector (None) matches nothing, as the
    Prometheus Operator reads its selectors."""
    if selector is None:
        return False
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        matched = {
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
        }[operator]
        if not matched:
            return False
    return True


def org_states(plan: Plan) -> dict[str, dict]:
    """The desired state of each tenant's Grafana organisation, by tenant, with its ConfigMap's metadata."""
    found = {}
    for resource in of_type(plan, CONFIG_MAP):
        metadata = resource.inputs["metadata"]
        if metadata["labels"].get("imaas.io/tenant-config") == "true":
            found[metadata["labels"]["imaas.io/tenant"]] = {
                "metadata": metadata,
                "state": json.loads(resource.inputs["data"]["org.json"]),
            }
    return found


def expressions(dashboard: dict) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


SELECTOR = re.compile(r"\{([^{}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def namespace_matchers(expr: str) -> list[tuple[str, str]]:
    """The namespace matcher of every selector of a PromQL or LogQL expression; a selector without one fails."""
    found = []
    for selector in SELECTOR.findall(expr):
        matchers = [(op, value) for label, op, value in MATCHER.findall(selector) if label == "namespace"]
        assert len(matchers) == 1, (expr, selector)
        found.extend(matchers)
    return found


# --- releases ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_each_stack_installs_the_pinned_charts_in_the_observability_namespace(stack: str) -> None:
    plan = example_plan(stack)
    found = releases(plan)
    assert set(found) == set(EXPECTED_RELEASES)
    for name, (chart, repository, version) in EXPECTED_RELEASES.items():
        inputs = found[name].inputs
        assert (inputs["chart"], inputs["repositoryOpts"]["repo"], inputs["version"]) == (chart, repository, version)
        assert (inputs["name"], inputs["namespace"]) == (name, OBSERVABILITY)
        namespace_urn = next(r.urn for r in of_type(plan, NAMESPACE) if r.name == OBSERVABILITY)
        assert namespace_urn in found[name].dependsOn
        assert "skipCrds" not in inputs
    assert found["loki"].urn in found["fluent-bit"].dependsOn
    assert found["tempo"].urn in found["opentelemetry-collector"].dependsOn


@pytest.mark.slow
def test_pinned_versions_are_the_platforms_and_a_stack_can_override_them() -> None:
    assert charts.KUBE_PROMETHEUS_STACK.version == EXPECTED_RELEASES["kube-prometheus-stack"][2]
    plan = plan_stack(
        "prod",
        chartVersions={"loki": "18.14.0"},
        chartValues={"loki": {"singleBinary": {"nodeSelector": {"pool": "obs"}}, "extra": [1]}},
    )
    loki = releases(plan)["loki"].inputs
    assert loki["version"] == "18.14.0"
    single_binary = dict(loki["values"]["singleBinary"])
    containers, annotations = single_binary.pop("extraContainers"), single_binary.pop("podAnnotations")
    # Overrides merge into the platform's values: the rest of singleBinary and of the chart values stays.
    assert single_binary == {
        "nodeSelector": {"pool": "obs"},
        "replicas": 1,  # Loki's rings are in memory behind its proxy: one replica (imaas/declarations/store_clients.py)
        "persistence": {
            "enableStatefulSetAutoDeletePVC": True,
            "whenDeleted": "Retain",
            "whenScaled": "Retain",
            "storageClass": "gp3",  # imaas:storageClass (tests/test_storage_class.py)
        },
        # The tenants' limits, the job's runtime file (imaas/declarations/tenant_config.py), and the proxy beside Loki
        # (imaas/declarations/store_clients.py).
        "extraVolumes": [
            {"name": "tenant-limits", "configMap": {"name": "imaas-loki-tenant-limits"}},
            *store_auth.proxy_volumes("loki"),
        ],
        "extraVolumeMounts": [{"name": "tenant-limits", "mountPath": "/etc/imaas/loki", "readOnly": True}],
    }
    assert [container["name"] for container in containers] == [store_auth.PROXY_CONTAINER]
    assert list(annotations) == ["imaas.io/proxy-config"]
    assert loki["values"]["loki"]["auth_enabled"] is True
    assert loki["values"]["extra"] == [1]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"chartVersions": {"tempo": "latest"}}, "imaas:chartVersions.tempo: must match"),
        ({"chartVersions": {"certManager": "1.21.1"}}, "certManager: 1.21.1 is not a version of its repository"),
        ({"chartVersions": {"loki": "v18.11.0"}}, "loki: v18.11.0 is not a version of its repository"),
        (
            {"chartValues": {"loki": {"singleBinary": {"replicas": 2}}}},
            "imaas:chartValues: loki.singleBinary.replicas must be 1, got 2",
        ),
        ({"chartVersions": {"jaeger": "4.14.1"}}, "imaas:chartVersions.jaeger"),
        ({"preinstalled": ["argocd", "grafana"]}, "imaas:preinstalled[1]: must be one of"),
    ],
)
@pytest.mark.fast
def test_invalid_chart_settings_are_refused_naming_the_key(settings: dict, message: str) -> None:
    config = {
        "imaas:environments": '["prod"]',
        **{f"imaas:{key}": json.dumps(value) for key, value in settings.items()},
    }
    with pytest.raises(InputError) as raised:
        settings_from_config(config, "prod")
    assert message in str(raised.value)


@pytest.mark.slow
def test_the_operator_crds_come_first_from_a_kept_release_of_their_own(stack: str) -> None:
    plan = example_plan(stack)
    found = releases(plan)
    crds, operator = found["prometheus-operator-crds"], found["kube-prometheus-stack"]
    # Uninstalling the CRDs would delete every monitor and Prometheus: neither Pulumi nor Helm may.
    assert crds.protect and crds.retainOnDelete
    assert crds.inputs["values"] == {"crds": {"annotations": {"helm.sh/resource-policy": "keep"}}}
    # The chart's own CRDs are off, and its Prometheus, Alertmanager and monitors wait for the CRD release.
    assert operator.inputs["values"]["crds"] == {"enabled": False}
    assert crds.urn in operator.dependsOn
    assert not operator.protect
    everything_of_the_group = [*of_type(plan, POD_MONITOR), *of_type(plan, PROMETHEUS)]
    assert len(everything_of_the_group) == len(tenant_namespaces(plan)) + 1
    assert all(crds.urn in resource.dependsOn for resource in everything_of_the_group)
    assert operator.urn in tenant_prometheus(plan).dependsOn  # only the operator turns it into pods


@pytest.mark.slow
def test_loki_is_multi_tenant_and_keeps_its_data(stack: str) -> None:
    loki = values(example_plan(stack), "loki")
    assert loki["loki"]["auth_enabled"] is True
    assert loki["deploymentMode"] == "Monolithic"
    # The retention policy is rendered only with enableStatefulSetAutoDeletePVC; Retain keeps the volumes.
    assert loki["singleBinary"]["persistence"] == {
        "enableStatefulSetAutoDeletePVC": True,
        "whenDeleted": "Retain",
        "whenScaled": "Retain",
        "storageClass": "gp3",  # imaas:storageClass (tests/test_storage_class.py)
    }


@pytest.mark.slow
def test_the_main_organisation_holds_the_platforms_data_sources_and_reads_the_sidecar_only_here(stack: str) -> None:
    grafana = values(example_plan(stack), "kube-prometheus-stack")["grafana"]
    # The platform's Prometheus is the chart's own default data source (sidecar.datasources.defaultDatasourceEnabled),
    # which the sidecar reads from the stack's namespace only. The chart's Alertmanager data source is off: Grafana
    # reaches no Alertmanager (imaas/declarations/fence.py).
    assert grafana["sidecar"]["datasources"] == {
        "alertmanager": {"enabled": False},
        "searchNamespace": OBSERVABILITY,
        "resource": "configmap",
    }
    sources = {source["type"]: source for source in grafana["additionalDataSources"]}
    assert set(sources) == {"prometheus", "loki"}
    # No orgId: the chart's provisioning file puts them in the main organisation, the platform admins'.
    assert not any("orgId" in source for source in grafana["additionalDataSources"])
    assert (sources["prometheus"]["uid"], sources["prometheus"]["url"]) == ("prometheus-tenants", TENANT_PROMETHEUS_URL)
    assert sources["loki"]["url"] == f"http://{LOKI_HOST}"
    assert sources["loki"]["jsonData"] == {"httpHeaderName1": "X-Scope-OrgID"}
    assert sources["loki"]["secureJsonData"] == {
        "httpHeaderValue1": "platform",
        "basicAuthPassword": "$IMAAS_LOKI_PASSWORD",
    }
    dashboards = grafana["sidecar"]["dashboards"]
    assert dashboards["searchNamespace"] == OBSERVABILITY
    assert dashboards["folderAnnotation"] == "grafana_folder"
    assert dashboards["provider"]["foldersFromFilesStructure"] is True


@pytest.mark.slow
def test_grafanas_sidecars_read_the_stacks_namespace_only(stack: str) -> None:
    """grafana chart 12.4.8: with rbac.namespaced the chart makes a Role in its own namespace (plus
    rbac.namespaces) instead of a ClusterRole over every namespace's ConfigMaps and Secrets; each enabled sidecar
    watches the namespace its searchNamespace names, and only ConfigMaps."""
    grafana = values(example_plan(stack), "kube-prometheus-stack")["grafana"]
    assert grafana["rbac"] == {"namespaced": True, "namespaces": []}
    for sidecar in ("dashboards", "datasources"):
        assert grafana["sidecar"][sidecar]["searchNamespace"] == OBSERVABILITY
        assert grafana["sidecar"][sidecar]["resource"] == "configmap"
    # The sidecars the chart has off stay off (each would watch the whole cluster with no searchNamespace).
    assert not {"alerts", "notifiers", "plugins"} & set(grafana["sidecar"])


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "monitors_on"), [("eks", False), ("generic", True)])
def test_control_plane_monitors_are_off_on_eks_only(kind: str, monitors_on: bool) -> None:
    kps = values(plan_stack("dev", clusterKind=kind), "kube-prometheus-stack")
    for monitor in ("kubeEtcd", "kubeScheduler", "kubeControllerManager", "kubeProxy"):
        # Unset keeps the chart's default, on.
        assert kps.get(monitor, {}).get("enabled", True) is monitors_on, monitor


@pytest.mark.slow
def test_the_shipped_stacks_say_their_clusters_are_eks(stack: str) -> None:
    kps = values(example_plan(stack), "kube-prometheus-stack")
    assert kps["kubeEtcd"] == kps["kubeProxy"] == {"enabled": False}


@pytest.mark.slow
def test_the_observability_namespace_is_kept_and_may_run_node_agents(stack: str) -> None:
    (namespace,) = [r for r in of_type(example_plan(stack), NAMESPACE) if r.name == OBSERVABILITY]
    assert namespace.protect and namespace.retainOnDelete
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


@pytest.mark.slow
def test_the_platform_log_tenant_is_a_name_no_tenant_can_take_and_the_model_imports_no_pulumi() -> None:
    assert PLATFORM_LOG_TENANT in RESERVED_TENANT_NAMES
    code = "import sys, imaas.declarations.charts; print(sorted(m for m in sys.modules if 'pulumi' in m))"
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- per tenant (logs: tests/test_log_routing.py) -----------------------------------------------------------------


@pytest.mark.slow
def test_every_tenant_organisation_reads_its_own_logs_metrics_and_traces_and_nothing_else(stack: str) -> None:
    plan = example_plan(stack)
    orgs = org_states(plan)
    assert set(orgs) == set(EXPECTED_TENANT_NAMESPACES[stack])
    # No sidecar-provisioned data source or dashboard of a tenant: those would land in the main organisation.
    assert not [
        r
        for r in of_type(plan, CONFIG_MAP)
        if {"grafana_datasource", "grafana_dashboard"} & set(r.inputs["metadata"]["labels"])
    ]
    for tenant, found in orgs.items():
        assert found["metadata"]["namespace"] == OBSERVABILITY
        assert found["metadata"]["name"] == f"imaas-tenant-{tenant}"
        state = found["state"]
        assert state["name"] == tenant
        sources = {source["type"]: source for source in state["datasources"]}
        assert set(sources) == {"loki", "prometheus", "tempo"}
        assert (sources["loki"]["url"], sources["loki"]["jsonData"]["httpHeaderName1"]) == (
            f"http://{LOKI_HOST}",
            "X-Scope-OrgID",
        )
        # The reader's password by the variable the job fills in (imaas/declarations/store_auth.py), never by value.
        assert sources["loki"]["secureJsonData"] == {
            "httpHeaderValue1": tenant,
            "basicAuthPassword": "$IMAAS_LOKI_PASSWORD",
        }
        assert sources["tempo"]["url"] == "http://tempo.observability.svc.cluster.local:3200"
        assert sources["tempo"]["jsonData"]["httpHeaderName1"] == "X-Scope-OrgID"
        assert sources["tempo"]["secureJsonData"] == {
            "httpHeaderValue1": tenant,
            "basicAuthPassword": "$IMAAS_TEMPO_PASSWORD",
        }
        metrics = sources["prometheus"]
        assert metrics["url"] == "http://imaas-metrics-proxy.observability.svc.cluster.local:8080"
        assert metrics["jsonData"]["httpHeaderName1"] == "X-Imaas-Namespaces"
        namespaces = metrics["secureJsonData"]["httpHeaderValue1"].split(",")
        assert set(namespaces) == EXPECTED_TENANT_NAMESPACES[stack][tenant]
        # Nothing in the URL a user could widen; every value is a secure setting.
        assert "?" not in metrics["url"]
        assert all(source["uid"].startswith("imaas-") for source in sources.values())


# --- per tenant: dashboards ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_each_tenant_dashboard_queries_only_its_tenants_namespaces(stack: str) -> None:
    plan = example_plan(stack)
    orgs = org_states(plan)
    assert set(orgs) == set(EXPECTED_TENANT_NAMESPACES[stack])
    every_namespace = tenant_namespaces(plan) | {OBSERVABILITY, "kube-system", "ab-dev", "orders-devx"}
    for tenant, found in orgs.items():
        (dashboard,) = found["state"]["dashboards"]
        assert dashboard["uid"] == f"imaas-{tenant}-wso2mi"
        assert dashboard["templating"]["list"] == []  # no variable to point a panel elsewhere
        exprs = expressions(dashboard)
        assert len(exprs) >= 10
        expected = EXPECTED_TENANT_NAMESPACES[stack][tenant]
        for expr in exprs:
            # Every metric is read through a selector, and every selector pins the namespace.
            assert all(expr[match.end()] == "{" for match in re.finditer(r"wso2_integration_\w+", expr)), expr
            for op, regex in namespace_matchers(expr):
                assert op == "=~"
                assert regex.startswith("^") and regex.endswith("$")
                assert {ns for ns in every_namespace if re.fullmatch(regex, ns)} == expected, expr
        logs = [p for p in dashboard["panels"] if p["type"] == "logs"]
        assert [p["datasource"]["uid"] for p in logs] == ["imaas-logs"]
        # Tenant metrics through the organisation's own data source, the metrics proxy.
        metrics = [p for p in dashboard["panels"] if p["type"] != "logs"]
        sources = {
            source["uid"]
            for p in metrics
            for source in [p["datasource"], *map(lambda t: t["datasource"], p["targets"])]
        }
        assert sources == {"imaas-metrics"}


# --- per environment: scrape -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_tenant_namespace_has_a_pod_monitor_that_waits_for_its_crd(stack: str) -> None:
    plan = example_plan(stack)
    crds = releases(plan)["prometheus-operator-crds"]
    monitors = {m.inputs["metadata"]["namespace"]: m for m in of_type(plan, POD_MONITOR)}
    assert set(monitors) == tenant_namespaces(plan)
    for namespace, monitor in monitors.items():
        assert crds.urn in monitor.dependsOn
        spec = monitor.inputs["spec"]
        assert spec["selector"] == {"matchLabels": {"imaas.io/metrics": "true"}}
        assert spec["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metric-service/metrics"}]
        assert "namespaceSelector" not in spec  # its own namespace only
        labels = monitor.inputs["metadata"]["labels"]
        assert "release" not in labels  # the chart's selector label, which no longer means anything here
        assert labels["imaas.io/tenant"] == namespace.rsplit("-", 1)[0]
        validate_custom(monitor.inputs)


@pytest.mark.fast
def test_the_service_template_exposes_what_the_pod_monitor_scrapes() -> None:
    deployment = yaml.safe_load((PROJECT_DIR / "templates/service/deploy/base/deployment.yaml").read_text())
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"]["imaas.io/metrics"] == "true"
    ports = {port["name"]: port["containerPort"] for port in template["spec"]["containers"][0]["ports"]}
    assert ports["metrics"] == 9201


def rules_of(plan: Plan, namespace: str) -> dict:
    """The namespace's fence (its services' own egress and exposure policies aside)."""
    (policy,) = [
        p
        for p in of_type(plan, NETWORK_POLICY)
        if p.inputs["metadata"]["namespace"] == namespace and p.inputs["metadata"]["name"] == "tenant-isolation"
    ]
    return policy.inputs["spec"]


def peers(rule: dict, key: str) -> list[str]:
    """The namespaces a rule names (the tenant namespaces of an environment, selected by label, are left out)."""
    return [
        peer["namespaceSelector"]["matchLabels"][NAME_LABEL]
        for peer in rule[key]
        if NAME_LABEL in peer.get("namespaceSelector", {}).get("matchLabels", {})
    ]


@pytest.mark.slow
def test_the_scrape_is_admitted_from_the_observability_namespace_only_on_the_metrics_port(stack: str) -> None:
    plan = example_plan(stack)
    for namespace in tenant_namespaces(plan):
        ingress = rules_of(plan, namespace)["ingress"]
        broad = [rule for rule in ingress if "ports" not in rule]
        scoped = [rule for rule in ingress if "ports" in rule]
        assert len(broad) == 1
        assert OBSERVABILITY not in peers(broad[0], "from")
        assert "ingress-nginx" in peers(broad[0], "from")  # other platform namespaces keep their access
        (scrape,) = scoped
        assert scrape["from"] == [{"namespaceSelector": {"matchLabels": {NAME_LABEL: OBSERVABILITY}}}]
        assert scrape["ports"] == [{"protocol": "TCP", "port": "metrics"}]


@pytest.mark.slow
def test_tenant_pods_reach_the_trace_collectors_pods_on_the_otlp_ports_only(stack: str) -> None:
    plan = example_plan(stack)
    for namespace in tenant_namespaces(plan):
        egress = rules_of(plan, namespace)["egress"]
        to_stack = [rule for rule in egress if OBSERVABILITY in peers(rule, "to")]
        assert to_stack == [
            {
                "to": [
                    {
                        "namespaceSelector": {"matchLabels": {NAME_LABEL: OBSERVABILITY}},
                        "podSelector": {"matchLabels": COLLECTOR_POD_LABELS},
                    }
                ],
                "ports": [{"protocol": "TCP", "port": 4317}, {"protocol": "TCP", "port": 4318}],
            }
        ]


# --- switched off, and Argo CD ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_disabled_observability_declares_none_of_it_and_tenants_still_plan(stack: str) -> None:
    plan = plan_stack(stack, observability={"enabled": False})
    assert releases(plan) == {}
    assert of_type(plan, POD_MONITOR) == of_type(plan, PROMETHEUS) == of_type(plan, SERVICE) == []
    assert not [r for r in of_type(plan, ROLE) if r.inputs["metadata"]["name"] == "prometheus-tenants"]
    assert of_type(plan, OBSERVABILITY_COMPONENT) == of_type(plan, VIEW_COMPONENT) == []
    assert of_type(plan, CONFIG_MAP) == []
    assert {r.name for r in of_type(plan, NAMESPACE)} == tenant_namespaces(example_plan(stack)) | {"imaas-gateway"}
    for namespace in tenant_namespaces(plan):
        spec = rules_of(plan, namespace)
        # The policy is the one without the stack: the platform namespaces in the broad rule, no OTLP rule.
        assert len(spec["ingress"]) == 1
        assert OBSERVABILITY in peers(spec["ingress"][0], "from")
        assert not any("ports" in rule and OBSERVABILITY in peers(rule, "to") for rule in spec["egress"])


@pytest.mark.slow
def test_argo_cd_is_not_installed_by_default_and_installed_from_its_pinned_chart_when_asked(stack: str) -> None:
    assert "argocd" not in releases(example_plan(stack))
    plan = plan_stack(stack, preinstalled=None, argocdImpersonation=None)
    argocd = releases(plan)["argocd"]
    inputs = argocd.inputs
    assert (inputs["chart"], inputs["repositoryOpts"]["repo"], inputs["version"]) == (
        "argo-cd",
        "https://argoproj.github.io/argo-helm",
        "10.1.1",
    )
    assert (inputs["namespace"], inputs["createNamespace"]) == ("argocd", True)
    assert inputs["values"]["configs"]["cm"]["application.sync.impersonation.enabled"] == "true"
    # The CRDs come with the release: projects and applications wait for it.
    projects = of_type(plan, APP_PROJECT)
    applications = of_type(plan, "kubernetes:argoproj.io/v1alpha1:Application")
    assert projects and applications
    assert all(argocd.urn in resource.dependsOn for resource in [*projects, *applications])


# --- the two Prometheus ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_platform_prometheus_follows_its_monitors_but_never_looks_at_a_tenant_namespace(stack: str) -> None:
    plan = example_plan(stack)
    spec = values(plan, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    # No tenant guard: the chart's kubelet, API server and CoreDNS monitors point at kube-system, and
    # kube-state-metrics' series keep the namespace they describe.
    assert not {"ignoreNamespaceSelectors", "enforcedNamespaceLabel"} & set(spec)
    namespaces = {r.name: r.inputs["metadata"].get("labels", {}) for r in of_type(plan, NAMESPACE)}
    for kind in MONITOR_KINDS:
        selector = spec[f"{kind}NamespaceSelector"]
        # every namespace that is no tenant's: its own, the shared Gateway's, the cluster's
        assert {name for name, labels in namespaces.items() if selects(selector, labels)} == {
            OBSERVABILITY,
            "imaas-gateway",
        }
        assert selects(selector, {NAME_LABEL: "kube-system"})


@pytest.mark.slow
def test_the_tenant_prometheus_selects_every_monitor_of_tenant_namespaces_and_nothing_else(stack: str) -> None:
    plan = example_plan(stack)
    prometheus = tenant_prometheus(plan)
    assert prometheus.inputs["metadata"] == {
        "name": "tenants",
        "namespace": OBSERVABILITY,
        "labels": {"app.kubernetes.io/managed-by": "pulumi"},
    }
    spec = prometheus.inputs["spec"]
    platform = values(plan, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    namespaces = {r.name: r.inputs["metadata"].get("labels", {}) for r in of_type(plan, NAMESPACE)}
    for kind in ("podMonitor", "serviceMonitor"):
        assert spec[f"{kind}Selector"] == {}  # the platform's monitor and the tenants' own
        selected = {name for name, labels in namespaces.items() if selects(spec[f"{kind}NamespaceSelector"], labels)}
        assert selected == tenant_namespaces(plan)
    for monitor in of_type(plan, POD_MONITOR):
        labels = namespaces[monitor.inputs["metadata"]["namespace"]]
        assert selects(spec["podMonitorNamespaceSelector"], labels)
        assert not selects(platform["podMonitorNamespaceSelector"], labels)
    # Unset selectors select nothing: no probe or scrape config of a tenant is read; rules only the platform's, of
    # the namespaces it manages: the shared rules in the stack's, a tenant's own thresholds in its own
    # (tests/test_alerts.py).
    assert not {"probeSelector", "scrapeConfigSelector"} & set(spec)
    assert {name for name, labels in namespaces.items() if selects(spec["ruleNamespaceSelector"], labels)} == (
        tenant_namespaces(plan) | {OBSERVABILITY}
    )
    validate_custom(prometheus.inputs)


@pytest.mark.slow
def test_the_tenant_prometheus_fences_and_caps_every_tenant_monitor(stack: str) -> None:
    spec = tenant_prometheus(example_plan(stack)).inputs["spec"]
    # A monitor scrapes its own namespace only, its series carry that namespace whatever its relabelling says, and
    # it cannot make Prometheus read its own files (a token, a key) as credentials.
    assert spec["ignoreNamespaceSelectors"] is True
    assert spec["enforcedNamespaceLabel"] == "namespace"
    assert spec["arbitraryFSAccessThroughSMs"] == {"deny": True}
    assert {
        key: value for key, value in spec.items() if key.startswith("enforced") and key != "enforcedNamespaceLabel"
    } == prometheus.TENANT_SCRAPE_LIMITS
    # The defaults: the example stacks set neither.
    defaults = TenantPrometheusSettings()
    assert (spec["retention"], spec["serviceAccountName"]) == (defaults.retention, "prometheus-tenants")
    claim = spec["storage"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"] == {"storage": defaults.storage}


@pytest.mark.slow
def test_the_tenant_prometheus_retention_and_volume_are_stack_settings() -> None:
    settings = {"tenantPrometheus": {"retention": "30d", "storage": "50Gi"}}
    spec = tenant_prometheus(plan_stack("prod", observability=settings)).inputs["spec"]
    assert spec["retention"] == "30d"
    assert spec["storage"]["volumeClaimTemplate"]["spec"]["resources"]["requests"] == {"storage": "50Gi"}
    config = {
        "imaas:environments": '["prod"]',
        "imaas:observability": json.dumps({"tenantPrometheus": {"retention": "a month"}}),
    }
    with pytest.raises(InputError) as raised:
        settings_from_config(config, "prod")
    assert "imaas:observability.tenantPrometheus.retention: must match" in str(raised.value)


@pytest.mark.slow
def test_the_tenant_prometheus_has_its_own_service_and_reads_only_tenant_namespaces(stack: str) -> None:
    plan = example_plan(stack)
    (service,) = [s for s in of_type(plan, SERVICE) if s.inputs["metadata"]["name"] == "prometheus-tenants"]
    # The operator's prometheus-operated Service would also reach the platform's instance.
    assert service.inputs["spec"]["selector"] == {
        "app.kubernetes.io/name": "prometheus",
        "operator.prometheus.io/name": "tenants",
    }
    assert service.inputs["spec"]["ports"] == [{"name": "web", "port": 9090, "targetPort": "web"}]
    accounts = [r for r in of_type(plan, SERVICE_ACCOUNT) if r.inputs["metadata"]["name"] == "prometheus-tenants"]
    assert [a.inputs["metadata"]["namespace"] for a in accounts] == [OBSERVABILITY]
    # Read-only discovery, granted namespace by namespace in tenant namespaces only: no ClusterRole.
    assert not [r for r in plan.resources if "ClusterRole" in r.type]
    roles = {
        r.inputs["metadata"]["namespace"]: r.inputs
        for r in of_type(plan, ROLE)
        if r.inputs["metadata"]["name"] == "prometheus-tenants"
    }
    bindings = {
        r.inputs["metadata"]["namespace"]: r.inputs
        for r in of_type(plan, ROLE_BINDING)
        if r.inputs["metadata"]["name"] == "prometheus-tenants"
    }
    assert set(roles) == set(bindings) == tenant_namespaces(plan)
    for namespace, role in roles.items():
        assert {verb for rule in role["rules"] for verb in rule["verbs"]} == {"get", "list", "watch"}
        assert {resource for rule in role["rules"] for resource in rule["resources"]} == {
            "pods",
            "services",
            "endpoints",
            "endpointslices",
        }
        assert bindings[namespace]["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "prometheus-tenants",
        }
        assert bindings[namespace]["subjects"] == [
            {"kind": "ServiceAccount", "name": "prometheus-tenants", "namespace": OBSERVABILITY}
        ]
