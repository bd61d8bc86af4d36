"""Tenant alerts on the plan of the fixture tenants: one set of rules for every tenant service, written once in the
stack's namespace, that passes promtool and fires (and stays quiet) on synthetic series as it should, per service and
with the labels of the series' own namespace; per-tenant thresholds as data; each Prometheus selects its own rules
and no other's; and the Alertmanager route tree the operator builds from the AlertmanagerConfig objects gives each
tenant's alerts to that tenant's receivers only (checked with amtool). The mail relay's password is in no plan."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from crd_schemas import validate_custom
from helpers import write_tenants
from linters import amtool, promtool
from planning import PROJECT_DIR, example_plan, of_type, plan_stack
from test_observability import selects, tenant_namespaces, values
from tokens import ALERTMANAGER_CONFIG, NAMESPACE, PROMETHEUS, PROMETHEUS_RULE, SECRET

from imaas.declarations import alerts
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan, PlannedResource

OBSERVABILITY = "observability"
ALERTING = {"smarthost": "smtp.example.com:587", "from": "alerts@example.com", "authUsername": "imaas"}
RELAY_PASSWORD = "relay-password-that-must-never-leak"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
# Every tenant namespace with an active service, in each stack (payroll-export is retired; order-events runs in dev
# and test only).
EXPECTED_NAMESPACES = {
    "dev": {"orders-dev", "orders-test", "hr-dev", "hr-test", "payments-dev"},
    "prod": {"orders-prod", "hr-prod", "payments-prod"},
}
SHARED = {alerts.SERVICE_RULES_NAME, alerts.WORKLOAD_RULES_NAME}


@functools.cache
def alerting_plan(stack: str) -> Plan:
    return plan_stack(
        stack,
        observability={"alerting": ALERTING},
        platformIdentities=["imaas-deployer"],
        alertmanagerSmtpPassword=RELAY_PASSWORD,
    )


def rules(plan: Plan) -> dict[tuple[str, str], PlannedResource]:
    return {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r for r in of_type(plan, PROMETHEUS_RULE)
    }


def shared_rules(plan: Plan) -> dict[str, PlannedResource]:
    return {name: rule for (ns, name), rule in rules(plan).items() if ns == OBSERVABILITY and name in SHARED}


def write_rule_file(directory: Path, name: str, spec: dict[str, Any]) -> Path:
    """A PrometheusRule's spec as the rule file the operator mounts into Prometheus."""
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"groups": spec["groups"]}, sort_keys=False))
    return path


def count(spec: dict[str, Any]) -> int:
    return sum(len(group["rules"]) for group in spec["groups"])


# --- which rules exist, and who evaluates them ----------------------------------------------------------------------


@pytest.mark.fast
def test_the_shared_rules_name_no_tenant_and_aggregate_by_namespace_and_service() -> None:
    for spec in (alerts.service_rule_spec(), alerts.workload_rule_spec()):
        for rule in (rule for group in spec["groups"] for rule in group["rules"]):
            # No rule fixes a namespace, a tenant or a service: each is for all of them.
            assert set(rule.get("labels", {})) <= {"severity"}
            if "alert" in rule:
                assert f"by (namespace, {alerts.SERVICE}" in rule["expr"]
                assert '"namespace", "' in rule["expr"] or alerts.NAMESPACE_INFO in rule["expr"]
    assert count(alerts.service_rule_spec()) == 3
    assert count(alerts.workload_rule_spec()) == 5  # four alerts and the namespaces' tenants
    with pytest.raises(ValueError, match="no threshold"):
        alerts.threshold_rule_spec("shop-dev", {"IMaaSServiceDown": 1})


@pytest.mark.slow
def test_the_rules_are_written_once_in_the_stacks_namespace(stack: str) -> None:
    plan = example_plan(stack)
    # Nothing per tenant: no tenant differs from the default thresholds.
    assert set(rules(plan)) == {(OBSERVABILITY, name) for name in SHARED}
    assert shared_rules(plan)[alerts.SERVICE_RULES_NAME].inputs["spec"] == alerts.service_rule_spec()
    assert shared_rules(plan)[alerts.WORKLOAD_RULES_NAME].inputs["spec"] == alerts.workload_rule_spec()


@pytest.mark.slow
def test_each_prometheus_evaluates_its_own_shared_rules_and_no_other(stack: str) -> None:
    plan = example_plan(stack)
    (tenant_prometheus,) = of_type(plan, PROMETHEUS)
    spec = tenant_prometheus.inputs["spec"]
    platform = values(plan, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    # The shared Gateway's namespace carries no label: it holds no rule of anyone's.
    namespaces = {r.name: r.inputs["metadata"].get("labels", {}) for r in of_type(plan, NAMESPACE)}
    # kube-prometheus-stack's Prometheus selects rules by its release label (ruleSelectorNilUsesHelmValues).
    platform_selector = {"matchLabels": dict([alerts.PLATFORM_RULE_LABEL])}
    services, workloads = (shared_rules(plan)[name].inputs["metadata"] for name in sorted(SHARED))
    assert selects(spec["ruleSelector"], services["labels"])
    assert selects(spec["ruleNamespaceSelector"], namespaces[OBSERVABILITY])
    assert not selects(spec["ruleSelector"], workloads["labels"])
    assert selects(platform_selector, workloads["labels"])
    assert selects(platform["ruleNamespaceSelector"], namespaces[OBSERVABILITY])
    assert not selects(platform_selector, services["labels"])
    # The shared rule reads every tenant namespace: the one rule the namespace enforcement leaves as written. Every
    # other rule it selects is held to its own namespace, and no monitor's honorLabels holds.
    assert spec["excludedFromEnforcement"] == [
        {"group": "monitoring.coreos.com", "resource": "prometheusrules", "namespace": OBSERVABILITY,
         "name": alerts.SERVICE_RULES_NAME}
    ]  # fmt: skip
    assert spec["enforcedNamespaceLabel"] == "namespace"
    assert spec["overrideHonorLabels"] is True
    # Its alerts go to the stack's Alertmanager, and each carries its series' namespace.
    assert spec["alerting"]["alertmanagers"] == [
        {
            "namespace": OBSERVABILITY,
            "name": alerts.ALERTMANAGER_SERVICE,
            "port": "http-web",
            "apiVersion": "v2",
            # Its credential at Alertmanager's proxy (imaas/declarations/store_auth.py).
            "basicAuth": {
                "username": {"name": "imaas-credentials-prometheus-tenants", "key": "username"},
                "password": {"name": "imaas-credentials-prometheus-tenants", "key": "password"},
            },
        }
    ]
    # kube-state-metrics exports each namespace's tenant and environment labels, which the platform's rules join.
    ksm = values(plan, "kube-prometheus-stack")["kube-state-metrics"]
    assert ksm == {"metricLabelsAllowlist": ["namespaces=[imaas.io/tenant,imaas.io/environment]"]}


def shared_objects(plan: Plan) -> str:
    """What of the shared stack the alerts depend on, byte for byte: the rule objects, the tenants' Prometheus and
    kube-prometheus-stack's values."""
    objects = [r.inputs for r in shared_rules(plan).values()]
    objects += [r.inputs for r in of_type(plan, PROMETHEUS)]
    objects.append(values(plan, "kube-prometheus-stack")["kube-state-metrics"])
    return json.dumps(objects, sort_keys=True)


@pytest.mark.slow
def test_adding_a_tenant_changes_no_shared_rule_and_no_rule_count(tmp_path: Path) -> None:
    tenants = {
        "shop": {"services": [{"name": "cart"}, {"name": "checkout", "environments": ["dev"]}]},
        "web": {"services": [{"name": "front"}]},
    }
    before = plan_stack("dev", write_tenants(tmp_path / "before", **tenants))
    after = plan_stack("dev", write_tenants(tmp_path / "after", **tenants, ads={"services": [{"name": "banner"}]}))
    assert "ads-dev" in tenant_namespaces(after)
    assert shared_objects(before) == shared_objects(after)
    assert len(rules(before)) == len(rules(after)) == 2
    assert [count(r.inputs["spec"]) for r in rules(before).values()] == [3, 5]


@pytest.mark.slow
def test_a_tenants_own_thresholds_are_rules_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tenant file sets no threshold today; where a tenant's would differ, they are its own objects, and the
    shared rules do not change."""
    own = {alerts.ERROR_RATIO: 0.2, alerts.RESTARTING: 10}
    monkeypatch.setattr(alerts, "tenant_thresholds", lambda tenant, environment: own if tenant.name == "shop" else {})
    tenants = write_tenants(tmp_path, shop={"services": [{"name": "cart"}]}, web={"services": [{"name": "front"}]})
    plan = plan_stack("dev", tenants)
    (tenant_prometheus,) = of_type(plan, PROMETHEUS)
    spec = tenant_prometheus.inputs["spec"]
    namespaces = {r.name: r.inputs["metadata"].get("labels", {}) for r in of_type(plan, NAMESPACE)}
    found = {key: r.inputs for key, r in rules(plan).items() if r.inputs["metadata"]["name"] not in SHARED}
    assert set(found) == {
        ("shop-dev", "imaas-alert-thresholds"), ("shop-test", "imaas-alert-thresholds"),
        (OBSERVABILITY, "imaas-shop-dev-alert-thresholds"), (OBSERVABILITY, "imaas-shop-test-alert-thresholds"),
    }  # fmt: skip
    mine = found[("shop-dev", "imaas-alert-thresholds")]
    # In its namespace, for the tenants' Prometheus, which holds it to that namespace (not excluded).
    assert selects(spec["ruleSelector"], mine["metadata"]["labels"])
    assert selects(spec["ruleNamespaceSelector"], namespaces["shop-dev"])
    assert mine["spec"] == alerts.threshold_rule_spec("shop-dev", {alerts.ERROR_RATIO: 0.2})
    platform = found[(OBSERVABILITY, "imaas-shop-dev-alert-thresholds")]
    assert platform["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert platform["spec"] == alerts.threshold_rule_spec("shop-dev", {alerts.RESTARTING: 10})
    for each in found.values():
        validate_custom(each)
    monkeypatch.undo()
    assert shared_objects(plan) == shared_objects(plan_stack("dev", tenants))


@pytest.mark.slow
def test_the_rules_and_routes_fit_their_crds(stack: str) -> None:
    plan = alerting_plan(stack)
    declared = [*of_type(plan, PROMETHEUS_RULE), *of_type(plan, ALERTMANAGER_CONFIG), *of_type(plan, PROMETHEUS)]
    assert {resource.type for resource in declared} == {PROMETHEUS_RULE, ALERTMANAGER_CONFIG, PROMETHEUS}
    for resource in declared:
        validate_custom(resource.inputs)
    misspelt = copy.deepcopy(of_type(plan, ALERTMANAGER_CONFIG)[0].inputs)
    misspelt["spec"]["receivers"][0]["emailConfigs"][0]["adress"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(misspelt)


@pytest.mark.slow
def test_rules_wait_for_their_crd_and_a_retired_service_has_no_route(tmp_path: Path) -> None:
    plan = example_plan("dev")
    crds = next(r for r in plan.resources if r.name == "prometheus-operator-crds")
    assert all(crds.urn in rule.dependsOn for rule in rules(plan).values())
    tenants = write_tenants(tmp_path, shop={"services": [{"name": "cart", "lifecycle": "retired"}]})
    retired = plan_stack(
        "dev", tenants, observability={"alerting": ALERTING}, platformIdentities=["imaas-deployer"],
        alertmanagerSmtpPassword=RELAY_PASSWORD,
    )  # fmt: skip
    assert set(rules(retired)) == {(OBSERVABILITY, name) for name in SHARED}
    assert configs(retired) == {}


# --- promtool ------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_rule_file_of_the_plan_passes_promtool_check(stack: str, tmp_path: Path) -> None:
    files = [
        write_rule_file(tmp_path, f"{ns}-{name}", r.inputs["spec"])
        for (ns, name), r in rules(example_plan(stack)).items()
    ]
    files.append(write_rule_file(tmp_path, "thresholds", alerts.threshold_rule_spec("orders-dev", THRESHOLDS)))
    result = promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_promtool_check_refuses_a_broken_rule(tmp_path: Path) -> None:
    broken = {"groups": [{"name": "broken", "rules": [{"alert": "X", "expr": "sum(rate(up[5m])"}]}]}
    result = promtool("check", "rules", write_rule_file(tmp_path, "broken", broken))
    assert result.returncode != 0


# payments-dev's own thresholds: it tolerates a fifth of its requests failing and 100 restarts an hour.
THRESHOLDS = {alerts.ERROR_RATIO: 0.2, alerts.RESTARTING: 100}


def alert(name: str, namespace: str, service: str, severity: str, summary: str, **extra: str) -> dict[str, Any]:
    """An alert `name` as the rules fire it: the tenant and environment of its namespace, whatever its series
    claimed (promtool adds `alertname` itself)."""
    tenant, environment = namespace.rsplit("-", 1)
    labels = {
        "namespace": namespace, "imaas_tenant": tenant, "imaas_environment": environment,
        "imaas_service": service, "severity": severity, **extra,
    }  # fmt: skip
    return {"exp_labels": labels, "exp_annotations": {"summary": f"{service} in {namespace}: {summary}"}}


def series(metric: str, values: str, **labels: str) -> dict[str, str]:
    return {"series": metric + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "values": values}


def mi_series(namespace: str, service: str, api: str, *, requests: int, errors: int, fast: int, **more: str) -> list:
    """WSO2 MI's counters of one API of a service, per minute, as the tenants' Prometheus stores them: the
    namespace and the service label from the scrape (`more`: what else the pod exposed)."""
    labels = {"namespace": namespace, "imaas_io_service": service, "service_name": api, **more}
    metric = "wso2_integration_api_"
    return [
        series(f"{metric}request_count_total", f"0+{requests}x40", **labels),
        series(f"{metric}request_count_error_total", f"0+{errors}x40", **labels),
        series(f"{metric}latency_seconds_bucket", f"0+{fast}x40", le="1", **labels),
        series(f"{metric}latency_seconds_bucket", f"0+{requests}x40", le="5", **labels),
        series(f"{metric}latency_seconds_bucket", f"0+{requests}x40", le="+Inf", **labels),
    ]


def up(namespace: str, service: str, value: int, pod: str = "p-1") -> dict[str, str]:
    return series("up", f"{value}x40", namespace=namespace, imaas_io_service=service, pod=pod, job=f"{namespace}/x")


def namespace_labels(namespace: str) -> dict[str, str]:
    tenant, environment = namespace.rsplit("-", 1)
    return series("kube_namespace_labels", "1x40", namespace=namespace, job="kube-state-metrics",
                  label_imaas_io_tenant=tenant, label_imaas_io_environment=environment)  # fmt: skip


def ksm(metric: str, values: str, namespace: str, **labels: str) -> dict[str, str]:
    return series(metric, values, namespace=namespace, job="kube-state-metrics", **labels)


def unit_tests() -> dict[str, Any]:
    """Synthetic series of three tenants, as each Prometheus stores them, and what each rule must fire: order-sync
    in orders-dev broken in every way; order-events healthy in orders-dev but for its error ratio and latency, and
    down in orders-test; hr-dev healthy; payments-dev failing as much as order-events, within its own thresholds; a
    pod of orders-dev exposing labels that claim payments; a non-tenant namespace whose pods look like a service's."""
    pod = "order-sync-wso2mi-service-7c9-x1"
    tenants_prometheus = [
        up("orders-dev", "order-sync", 0), up("orders-dev", "order-sync", 0, pod="p-2"),
        up("orders-dev", "order-events", 1), up("orders-test", "order-events", 0),
        up("hr-dev", "employee-sync", 1), up("payments-dev", "card-gateway", 1),
        *mi_series("orders-dev", "order-sync", "SyncApi", requests=100, errors=1, fast=100),
        *mi_series("orders-dev", "order-events", "EventsApi", requests=100, errors=10, fast=10),
        *mi_series("hr-dev", "employee-sync", "HrApi", requests=100, errors=0, fast=100),
        *mi_series("payments-dev", "card-gateway", "CardApi", requests=100, errors=10, fast=100),
        # Labels a pod of orders-dev exposes to pass for payments: honor_labels is off, so the scrape kept its
        # namespace (the pod's own went to exported_namespace) and its service label.
        *mi_series("orders-dev", "order-sync", "ForgedApi", requests=100, errors=50, fast=100,
                   exported_namespace="payments-prod", imaas_tenant="payments", imaas_environment="prod",
                   imaas_service="card-gateway", exported_imaas_io_service="card-gateway"),
        # A pod of orders-dev exposing a threshold series changes nothing (scraped series have a job); payments-dev's
        # own thresholds are its rule's (run_unit_tests).
        series("imaas_alert_threshold", "1x40", namespace="orders-dev", alert=alerts.ERROR_RATIO, job="orders-dev/x"),
    ]  # fmt: skip
    platform_prometheus = [
        *map(namespace_labels, ["orders-dev", "orders-test", "hr-dev", "payments-dev"]),
        series("kube_namespace_labels", "1x40", namespace="kube-system", job="kube-state-metrics"),
        ksm("kube_deployment_status_replicas_available", "0x40", "orders-dev", deployment="order-sync-wso2mi-service"),
        ksm("kube_deployment_status_replicas_available", "1x40", "hr-dev", deployment="employee-sync-wso2mi-service"),
        ksm("kube_pod_container_status_restarts_total", "0+1x40", "orders-dev", pod=pod, container="wso2mi"),
        ksm("kube_pod_container_status_restarts_total", "0x40", "orders-dev",
            pod="order-events-wso2mi-service-7c9-x1", container="wso2mi"),
        ksm("kube_pod_container_status_restarts_total", "0+1x40", "payments-dev",
            pod="card-gateway-wso2mi-service-5d4-y2", container="wso2mi"),
        ksm("kube_pod_container_status_waiting_reason", "1x40", "orders-dev", pod=pod, container="wso2mi",
            reason="CrashLoopBackOff"),
        ksm("kube_pod_container_status_waiting_reason", "1x40", "kube-system", pod="dns-wso2mi-service-7c9-x1",
            container="dns", reason="CrashLoopBackOff"),
        ksm("kube_horizontalpodautoscaler_status_current_replicas", "5x40", "orders-dev",
            horizontalpodautoscaler="order-events-wso2mi-service"),
        ksm("kube_horizontalpodautoscaler_spec_max_replicas", "5x40", "orders-dev",
            horizontalpodautoscaler="order-events-wso2mi-service"),
        ksm("kube_horizontalpodautoscaler_status_current_replicas", "2x40", "orders-dev",
            horizontalpodautoscaler="order-sync-wso2mi-service"),
        ksm("kube_horizontalpodautoscaler_spec_max_replicas", "5x40", "orders-dev",
            horizontalpodautoscaler="order-sync-wso2mi-service"),
    ]  # fmt: skip
    scrape = "no Micro Integrator answers its metrics scrape"
    expected = {
        alerts.DOWN: [
            alert(alerts.DOWN, "orders-dev", "order-sync", "critical", scrape),
            alert(alerts.DOWN, "orders-test", "order-events", "critical", scrape),
        ],
        alerts.ERROR_RATIO: [
            alert(alerts.ERROR_RATIO, "orders-dev", "order-events", "warning",
                  "10% of the requests of EventsApi fail", service_name="EventsApi"),
            alert(alerts.ERROR_RATIO, "orders-dev", "order-sync", "warning",
                  "50% of the requests of ForgedApi fail", service_name="ForgedApi"),
        ],
        alerts.LATENCY: [
            alert(alerts.LATENCY, "orders-dev", "order-events", "warning",
                  "the 95th percentile latency of EventsApi is 4.778s", service_name="EventsApi"),
        ],
        alerts.UNAVAILABLE: [
            alert(alerts.UNAVAILABLE, "orders-dev", "order-sync", "critical", "its Deployment has no available pod"),
        ],
        alerts.RESTARTING: [
            alert(alerts.RESTARTING, "orders-dev", "order-sync", "warning", "containers restarted 30 times in an hour"),
        ],
        alerts.CRASH_LOOPING: [
            alert(alerts.CRASH_LOOPING, "orders-dev", "order-sync", "critical", "a container is crash-looping"),
        ],
        alerts.AT_MAX_REPLICAS: [
            alert(alerts.AT_MAX_REPLICAS, "orders-dev", "order-events", "warning",
                  "the autoscaler has run at its maximum for 15 minutes"),
        ],
    }  # fmt: skip
    return {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": tenants_prometheus + platform_prometheus,
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": name, "exp_alerts": exp_alerts}
                    for name, exp_alerts in expected.items()
                ],
            }
        ],
    }


def run_unit_tests(plan: Plan, directory: Path, tests: dict[str, Any]) -> str:
    """promtool's unit tests of the plan's shared rules and payments-dev's own thresholds. One promtool evaluates
    both Prometheus' rules over both sets of series: each rule reads only its own Prometheus's metrics."""
    files = [write_rule_file(directory, name, rule.inputs["spec"]) for name, rule in shared_rules(plan).items()]
    files.append(write_rule_file(directory, "thresholds", alerts.threshold_rule_spec("payments-dev", THRESHOLDS)))
    test_file = directory / "tests.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [f.name for f in files], **tests}, sort_keys=False))
    result = promtool("test", "rules", test_file)
    return "" if result.returncode == 0 else result.stdout + result.stderr


@pytest.mark.slow
def test_the_rules_fire_per_service_with_the_labels_of_its_namespace_only(tmp_path: Path) -> None:
    assert run_unit_tests(example_plan("dev"), tmp_path, unit_tests()) == ""


@pytest.mark.slow
def test_promtool_test_fails_when_a_healthy_service_or_another_tenant_is_expected_to_alert(tmp_path: Path) -> None:
    plan = example_plan("dev")
    for name, wrong in (
        (alerts.DOWN, alert(alerts.DOWN, "hr-dev", "employee-sync", "critical", "no Micro Integrator answers its "
                            "metrics scrape")),
        (alerts.ERROR_RATIO, alert(alerts.ERROR_RATIO, "payments-dev", "card-gateway", "warning",
                                   "10% of the requests of CardApi fail", service_name="CardApi")),
    ):  # fmt: skip
        tests = unit_tests()
        checks = tests["tests"][0]["alert_rule_test"]
        next(check for check in checks if check["alertname"] == name)["exp_alerts"].append(wrong)
        assert name in run_unit_tests(plan, tmp_path, tests)


# --- routes ----------------------------------------------------------------------------------------------------------


def configs(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["namespace"]: r.inputs for r in of_type(plan, ALERTMANAGER_CONFIG)}


def operator_config(plan: Plan, *, strategy: str) -> dict[str, Any]:
    """The Alertmanager configuration the Prometheus Operator (0.91, pkg/alertmanager/amcfg.go) generates: the
    chart's base configuration, then each AlertmanagerConfig's route first under the root, with `continue: true`,
    its receiver names prefixed `<namespace>/<name>/`, and under OnNamespace a matcher on the object's namespace."""
    values_ = values(plan, "kube-prometheus-stack")["alertmanager"]
    assert values_["alertmanagerSpec"]["alertmanagerConfigMatcherStrategy"] == {"type": strategy}
    routes, receivers = [], [{"name": "null"}]
    for namespace, config in sorted(configs(plan).items()):
        prefix = f"{namespace}/{config['metadata']['name']}/"
        route = config["spec"]["route"]
        matchers = [f'namespace="{namespace}"'] if strategy == "OnNamespace" else []
        routes.append({
            "receiver": prefix + route["receiver"], "matchers": matchers, "continue": True,
            "group_by": route["groupBy"], "group_wait": route["groupWait"],
            "group_interval": route["groupInterval"], "repeat_interval": route["repeatInterval"],
        })  # fmt: skip
        for receiver in config["spec"]["receivers"]:
            emails = [{"to": each["to"], "send_resolved": each["sendResolved"]} for each in receiver["emailConfigs"]]
            receivers.append({"name": prefix + receiver["name"], "email_configs": emails})
    return {**copy.deepcopy(values_["config"]), "route": {"receiver": "null", "routes": routes}, "receivers": receivers}


def routed(config: dict[str, Any], directory: Path, labels: dict[str, str]) -> list[str]:
    path = directory / "alertmanager.yaml"
    path.write_text(yaml.safe_dump(config))
    result = amtool("config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in labels.items()))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split()


def leaks(config: dict[str, Any], directory: Path, namespaces: list[str]) -> list[tuple[str, str]]:
    """(alert namespace, receiver) pairs where an alert of one namespace reaches another namespace's receiver, even
    when its other labels claim another tenant."""
    found = []
    for namespace in namespaces:
        for claimed in namespaces:
            labels = {"namespace": namespace, "alertname": "IMaaSServiceDown", "imaas_tenant": claimed.split("-")[0]}
            found += [(namespace, r) for r in routed(config, directory, labels) if not r.startswith(f"{namespace}/")]
    return sorted(set(found))


@pytest.mark.slow
def test_each_tenant_namespace_routes_its_alerts_to_its_tenants_receivers_only(stack: str, tmp_path: Path) -> None:
    plan = alerting_plan(stack)
    assert set(configs(plan)) == EXPECTED_NAMESPACES[stack]
    config = operator_config(plan, strategy="OnNamespace")
    assert leaks(config, tmp_path, sorted(configs(plan))) == []
    for namespace in configs(plan):
        assert routed(config, tmp_path, {"namespace": namespace}) == [f"{namespace}/imaas-alerts/tenant"]
    # An alert of no tenant namespace reaches no tenant.
    assert routed(config, tmp_path, {"namespace": "kube-system"}) == ["null"]


@pytest.mark.slow
def test_without_the_namespace_matcher_every_tenant_would_get_every_alert(tmp_path: Path) -> None:
    plan = alerting_plan("prod")
    config = operator_config(plan, strategy="OnNamespace")
    for route in config["route"]["routes"]:
        route["matchers"] = []  # what the strategy None would generate
    assert leaks(config, tmp_path, sorted(configs(plan)))


@pytest.mark.slow
def test_the_generated_configuration_is_one_alertmanager_accepts(tmp_path: Path) -> None:
    config = operator_config(alerting_plan("dev"), strategy="OnNamespace")
    path = tmp_path / "alertmanager.yaml"
    # The password file the operator mounts from the Secret; here a stand-in at a path of the test's.
    config["global"]["smtp_auth_password_file"] = str(tmp_path / "password")
    (tmp_path / "password").write_text("x")
    path.write_text(yaml.safe_dump(config))
    result = amtool("check-config", path)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = {**config, "route": {"receiver": "nobody"}}
    path.write_text(yaml.safe_dump(broken))
    assert amtool("check-config", path).returncode != 0


@pytest.mark.slow
def test_receivers_are_the_contact_and_the_files_extra_addresses(tmp_path: Path) -> None:
    tenants = write_tenants(
        tmp_path,
        shop={"services": [{"name": "cart"}], "alerting": {"emails": ["oncall@shop.example.com"]}},
        web={"services": [{"name": "front"}]},
    )
    plan = plan_stack(
        "prod", tenants, observability={"alerting": ALERTING}, platformIdentities=["imaas-deployer"],
        alertmanagerSmtpPassword=RELAY_PASSWORD,
    )  # fmt: skip
    emails = {ns: [e["to"] for e in c["spec"]["receivers"][0]["emailConfigs"]] for ns, c in configs(plan).items()}
    assert emails == {
        "shop-prod": ["shop-team@example.com", "oncall@shop.example.com"],
        "web-prod": ["web-team@example.com"],
    }


@pytest.mark.slow
def test_without_a_mail_relay_rules_are_declared_but_no_routes(stack: str) -> None:
    plan = example_plan(stack)
    assert configs(plan) == {}
    assert set(shared_rules(plan)) == SHARED
    spec = values(plan, "kube-prometheus-stack")["alertmanager"]["alertmanagerSpec"]
    assert spec["alertmanagerConfigNamespaceSelector"] == {
        "matchExpressions": [{"key": "imaas.io/tenant", "operator": "Exists"}]
    }


# --- the relay and its password ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_relay_password_is_a_secret_read_from_a_file_and_in_no_plan(stack: str) -> None:
    plan = alerting_plan(stack)
    alertmanager = values(plan, "kube-prometheus-stack")["alertmanager"]
    assert alertmanager["config"]["global"] == {
        "smtp_smarthost": "smtp.example.com:587",
        "smtp_from": "alerts@example.com",
        "smtp_require_tls": True,
        "smtp_auth_username": "imaas",
        "smtp_auth_password_file": "/etc/alertmanager/secrets/imaas-alertmanager-smtp/password",
    }
    assert alertmanager["alertmanagerSpec"]["secrets"] == ["imaas-alertmanager-smtp"]
    (secret,) = [r for r in of_type(plan, SECRET) if r.inputs["metadata"]["name"] == "imaas-alertmanager-smtp"]
    assert secret.inputs["metadata"]["namespace"] == OBSERVABILITY
    data = secret.inputs["stringData"]
    assert set(data) == {SECRET_SIG, "value"}, "marked secret: a real engine encrypts it in the state"
    release = next(r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.name == "kube-prometheus-stack")
    assert secret.urn in release.dependsOn
    outside = [r for r in plan.resources if r is not secret]
    assert RELAY_PASSWORD not in json.dumps([r.inputs for r in outside])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"observability": {"alerting": ALERTING}, "platformIdentities": ["imaas-deployer"]},
         "authUsername and alertmanagerSmtpPassword are set together"),
        # (the shipped stacks name an example identity, for their tenants' secrets and routes: removed here)
        ({"observability": {"alerting": ALERTING}, "alertmanagerSmtpPassword": RELAY_PASSWORD,
          "platformIdentities": None}, "observability.alerting needs platformIdentities"),
        ({"observability": {"alerting": {**ALERTING, "smarthost": "smtp.example.com"}}}, "smarthost"),
    ],
)  # fmt: skip
def test_incomplete_alerting_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_stack("prod", **settings)


@pytest.mark.slow
def test_tenant_namespaces_of_the_plan_are_those_with_routes(stack: str) -> None:
    assert set(configs(alerting_plan(stack))) <= set(tenant_namespaces(alerting_plan(stack)))


@pytest.mark.fast
def test_a_relay_password_stored_in_plain_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
        + f"  imaas:observability: {json.dumps({'alerting': ALERTING})}\n"
        # (the shipped stack names its platform identities already)
        + f"  imaas:alertmanagerSmtpPassword: {RELAY_PASSWORD}\n"
    )
    with pytest.raises(InputError) as raised:
        read_stack_file(tmp_path, "dev")
    [problem] = raised.value.problems
    assert problem.message == "must be a secret: pulumi config set --secret alertmanagerSmtpPassword"
    assert RELAY_PASSWORD not in str(raised.value)
