"""Per-tenant alerts on the plan of the fixture tenants: the rules of every active service pass promtool and fire
(and stay quiet) on synthetic series as they should, each Prometheus selects its own rules and no other's, and the
Alertmanager route tree the operator builds from the AlertmanagerConfig objects gives each tenant's alerts to that
tenant's receivers only (checked with amtool). The mail relay's password is in no plan."""

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

from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan, PlannedResource
from imaas.spec import alerts

OBSERVABILITY = "observability"
ALERTING = {"smarthost": "smtp.example.com:587", "from": "alerts@example.com", "authUsername": "imaas"}
RELAY_PASSWORD = "relay-password-that-must-never-leak"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
# Every service that is active, in each namespace of each stack (payroll-export is retired; order-events runs in dev
# and test only).
EXPECTED_SERVICES = {
    "dev": {
        "orders-dev": {"order-sync", "order-events"},
        "orders-test": {"order-sync", "order-events"},
        "hr-dev": {"employee-sync"},
        "hr-test": {"employee-sync"},
        "payments-dev": {"card-gateway"},
    },
    "prod": {"orders-prod": {"order-sync"}, "hr-prod": {"employee-sync"}, "payments-prod": {"card-gateway"}},
}


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


def tenant_rules(plan: Plan) -> dict[str, PlannedResource]:
    return {ns: rule for (ns, name), rule in rules(plan).items() if ns != OBSERVABILITY}


def workload_rules(plan: Plan) -> dict[str, PlannedResource]:
    return {name.removeprefix("imaas-").removesuffix("-workloads"): r for (ns, name), r in rules(plan).items()
            if ns == OBSERVABILITY}  # fmt: skip


def write_rule_file(directory: Path, name: str, spec: dict[str, Any]) -> Path:
    """A PrometheusRule's spec as the rule file the operator mounts into Prometheus."""
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"groups": spec["groups"]}, sort_keys=False))
    return path


# --- which rules exist, and who evaluates them ----------------------------------------------------------------------


def test_every_active_service_has_its_rules_in_each_of_its_namespaces(stack: str) -> None:
    plan = example_plan(stack)
    for found in (tenant_rules(plan), workload_rules(plan)):
        assert set(found) == set(EXPECTED_SERVICES[stack])
        for namespace, rule in found.items():
            services = {group["rules"][0]["labels"]["imaas_service"] for group in rule.inputs["spec"]["groups"]}
            assert services == EXPECTED_SERVICES[stack][namespace]
            for group in rule.inputs["spec"]["groups"]:
                for each in group["rules"]:
                    assert each["labels"]["namespace"] == namespace  # what the route matches on
                    assert f'namespace="{namespace}"' in each["expr"]


def test_the_tenant_prometheus_evaluates_the_tenant_rules_and_the_platform_one_the_workload_rules(stack: str) -> None:
    plan = example_plan(stack)
    (tenant_prometheus,) = of_type(plan, PROMETHEUS)
    spec = tenant_prometheus.inputs["spec"]
    platform = values(plan, "kube-prometheus-stack")["prometheus"]["prometheusSpec"]
    namespaces = {r.name: r.inputs["metadata"]["labels"] for r in of_type(plan, NAMESPACE)}
    # kube-prometheus-stack's Prometheus selects rules by its release label (ruleSelectorNilUsesHelmValues).
    platform_selector = {"matchLabels": dict([alerts.PLATFORM_RULE_LABEL])}
    for rule in tenant_rules(plan).values():
        metadata = rule.inputs["metadata"]
        assert selects(spec["ruleSelector"], metadata["labels"])
        assert selects(spec["ruleNamespaceSelector"], namespaces[metadata["namespace"]])
        assert not selects(platform["ruleNamespaceSelector"], namespaces[metadata["namespace"]])
    for rule in workload_rules(plan).values():
        metadata = rule.inputs["metadata"]
        assert selects(platform_selector, metadata["labels"])
        assert selects(platform["ruleNamespaceSelector"], namespaces[metadata["namespace"]])
        assert not selects(spec["ruleNamespaceSelector"], namespaces[metadata["namespace"]])
    # Its alerts go to the stack's Alertmanager, and each carries its rule's namespace.
    assert spec["enforcedNamespaceLabel"] == "namespace"
    assert spec["alerting"]["alertmanagers"] == [
        {"namespace": OBSERVABILITY, "name": alerts.ALERTMANAGER_SERVICE, "port": "http-web", "apiVersion": "v2"}
    ]


def test_the_rules_and_routes_fit_their_crds(stack: str) -> None:
    plan = alerting_plan(stack)
    declared = [*of_type(plan, PROMETHEUS_RULE), *of_type(plan, ALERTMANAGER_CONFIG)]
    assert {resource.type for resource in declared} == {PROMETHEUS_RULE, ALERTMANAGER_CONFIG}
    for resource in declared:
        validate_custom(resource.inputs)
    misspelt = copy.deepcopy(of_type(plan, ALERTMANAGER_CONFIG)[0].inputs)
    misspelt["spec"]["receivers"][0]["emailConfigs"][0]["adress"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        validate_custom(misspelt)


def test_rules_wait_for_their_crd_and_a_retired_service_has_none(tmp_path: Path) -> None:
    plan = example_plan("dev")
    crds = next(r for r in plan.resources if r.name == "prometheus-operator-crds")
    assert all(crds.urn in rule.dependsOn for rule in rules(plan).values())
    tenants = write_tenants(tmp_path, shop={"services": [{"name": "cart", "lifecycle": "retired"}]})
    assert rules(plan_stack("dev", tenants)) == {}


# --- promtool ------------------------------------------------------------------------------------------------------


def test_every_rule_file_of_the_plan_passes_promtool_check(stack: str, tmp_path: Path) -> None:
    files = [
        write_rule_file(tmp_path, f"{ns}-{name}", r.inputs["spec"])
        for (ns, name), r in rules(example_plan(stack)).items()
    ]
    result = promtool("check", "rules", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_refuses_a_broken_rule(tmp_path: Path) -> None:
    broken = {"groups": [{"name": "broken", "rules": [{"alert": "X", "expr": "sum(rate(up[5m])"}]}]}
    result = promtool("check", "rules", write_rule_file(tmp_path, "broken", broken))
    assert result.returncode != 0


def alert(rule: dict[str, Any], **extra: str) -> dict[str, Any]:
    return {"exp_labels": {**rule["labels"], **extra}, "exp_annotations": rule["annotations"]}


def rule_of(rule: PlannedResource, service: str, name: str) -> dict[str, Any]:
    return next(
        each
        for group in rule.inputs["spec"]["groups"]
        for each in group["rules"]
        if each["alert"] == name and each["labels"]["imaas_service"] == service
    )


def series(metric: str, values: str, **labels: str) -> dict[str, str]:
    return {"series": metric + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "values": values}


def unit_tests(plan: Plan) -> dict[str, Any]:
    """Synthetic series for orders-dev (order-sync broken in every way, order-events healthy but for its error ratio
    and latency) and hr-dev (no series at all): what each rule must fire, and that nothing else fires."""
    tenant, workload = tenant_rules(plan)["orders-dev"], workload_rules(plan)["orders-dev"]
    sync, events = (
        {"namespace": "orders-dev", "imaas_io_service": "order-sync"},
        {
            "namespace": "orders-dev",
            "imaas_io_service": "order-events",
        },
    )
    api = "wso2_integration_api_"
    input_series = [
        series("up", "0x40", pod="order-sync-wso2mi-service-a-1", **sync),
        series("up", "1x40", pod="order-events-wso2mi-service-a-1", **events),
        # The same service of another namespace, down too: orders-dev's rules must not see it.
        series("up", "0x40", namespace="orders-test", imaas_io_service="order-events", pod="p"),
        series(f"{api}request_count_total", "0+100x40", service_name="SyncApi", **sync),
        series(f"{api}request_count_error_total", "0+1x40", service_name="SyncApi", **sync),
        series(f"{api}request_count_total", "0+100x40", service_name="EventsApi", **events),
        series(f"{api}request_count_error_total", "0+10x40", service_name="EventsApi", **events),
        series(f"{api}latency_seconds_bucket", "0+100x40", service_name="SyncApi", le="1", **sync),
        series(f"{api}latency_seconds_bucket", "0+100x40", service_name="SyncApi", le="+Inf", **sync),
        series(f"{api}latency_seconds_bucket", "0+10x40", service_name="EventsApi", le="1", **events),
        series(f"{api}latency_seconds_bucket", "0+100x40", service_name="EventsApi", le="5", **events),
        series(f"{api}latency_seconds_bucket", "0+100x40", service_name="EventsApi", le="+Inf", **events),
        # kube-state-metrics, as the platform's Prometheus keeps its series' own namespace.
        series("kube_pod_container_status_restarts_total", "0+1x40", namespace="orders-dev",
               pod="order-sync-wso2mi-service-7c9-x1", container="wso2mi"),
        series("kube_pod_container_status_restarts_total", "0x40", namespace="orders-dev",
               pod="order-events-wso2mi-service-7c9-x1", container="wso2mi"),
        series("kube_pod_container_status_waiting_reason", "1x40", namespace="orders-dev",
               pod="order-sync-wso2mi-service-7c9-x1", container="wso2mi", reason="CrashLoopBackOff"),
        series("kube_pod_container_status_waiting_reason", "1x40", namespace="orders-test",
               pod="order-events-wso2mi-service-7c9-x1", container="wso2mi", reason="CrashLoopBackOff"),
        series("kube_deployment_status_replicas_available", "0x40", namespace="orders-dev",
               deployment="order-sync-wso2mi-service"),
        series("kube_deployment_status_replicas_available", "2x40", namespace="orders-dev",
               deployment="order-events-wso2mi-service"),
        # The same Deployment name in another namespace, unavailable: orders-dev's rules must not see it.
        series("kube_deployment_status_replicas_available", "0x40", namespace="orders-test",
               deployment="order-events-wso2mi-service"),
        series("kube_horizontalpodautoscaler_status_current_replicas", "5x40", namespace="orders-dev",
               horizontalpodautoscaler="order-events-wso2mi-service"),
        series("kube_horizontalpodautoscaler_spec_max_replicas", "5x40", namespace="orders-dev",
               horizontalpodautoscaler="order-events-wso2mi-service"),
        series("kube_horizontalpodautoscaler_status_current_replicas", "2x40", namespace="orders-dev",
               horizontalpodautoscaler="order-sync-wso2mi-service"),
        series("kube_horizontalpodautoscaler_spec_max_replicas", "5x40", namespace="orders-dev",
               horizontalpodautoscaler="order-sync-wso2mi-service"),
    ]  # fmt: skip
    expected = {
        # hr-dev's employee-sync was never deployed (no series at all, no Deployment): nothing fires for it.
        "IMaaSServiceDown": [alert(rule_of(tenant, "order-sync", "IMaaSServiceDown"))],
        "IMaaSServiceUnavailable": [alert(rule_of(workload, "order-sync", "IMaaSServiceUnavailable"))],
        **{
            name: [alert(rule_of(tenant, "order-events", name), service_name="EventsApi")]
            for name in ("IMaaSServiceErrorRatio", "IMaaSServiceLatencyP95")
        },
        "IMaaSServiceRestarting": [alert(rule_of(workload, "order-sync", "IMaaSServiceRestarting"))],
        "IMaaSServiceCrashLooping": [alert(rule_of(workload, "order-sync", "IMaaSServiceCrashLooping"))],
        "IMaaSServiceAtMaxReplicas": [alert(rule_of(workload, "order-events", "IMaaSServiceAtMaxReplicas"))],
    }  # fmt: skip
    return {
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": input_series,
                "alert_rule_test": [
                    {"eval_time": "30m", "alertname": name, "exp_alerts": exp_alerts}
                    for name, exp_alerts in expected.items()
                ],
            }
        ],
    }


def run_unit_tests(plan: Plan, directory: Path, tests: dict[str, Any]) -> str:
    files = [
        write_rule_file(directory, name, rule.inputs["spec"])
        for name, rule in {
            "orders-dev": tenant_rules(plan)["orders-dev"],
            "orders-dev-workloads": workload_rules(plan)["orders-dev"],
            "hr-dev": tenant_rules(plan)["hr-dev"],
        }.items()
    ]
    test_file = directory / "tests.yaml"
    test_file.write_text(yaml.safe_dump({"rule_files": [f.name for f in files], **tests}, sort_keys=False))
    result = promtool("test", "rules", test_file)
    return "" if result.returncode == 0 else result.stdout + result.stderr


def test_the_rules_fire_on_synthetic_series_for_their_own_service_and_namespace_only(tmp_path: Path) -> None:
    assert run_unit_tests(example_plan("dev"), tmp_path, unit_tests(example_plan("dev"))) == ""


def test_promtool_test_fails_when_a_healthy_service_is_expected_to_alert(tmp_path: Path) -> None:
    plan = example_plan("dev")
    tests = unit_tests(plan)
    checks = tests["tests"][0]["alert_rule_test"]
    down = next(check for check in checks if check["alertname"] == "IMaaSServiceDown")
    down["exp_alerts"].append(alert(rule_of(tenant_rules(plan)["orders-dev"], "order-events", "IMaaSServiceDown")))
    assert "IMaaSServiceDown" in run_unit_tests(plan, tmp_path, tests)


def test_promtool_test_fails_when_a_service_never_deployed_is_expected_to_alert(tmp_path: Path) -> None:
    """hr-dev's service has no series and no Deployment, as before its first build: the rules must stay quiet (an
    `absent()` alert would fire here, and this expectation would then hold)."""
    plan = example_plan("dev")
    tests = unit_tests(plan)
    checks = tests["tests"][0]["alert_rule_test"]
    down = next(check for check in checks if check["alertname"] == "IMaaSServiceDown")
    hr = tenant_rules(plan)["hr-dev"]
    down["exp_alerts"].append(alert(rule_of(hr, "employee-sync", "IMaaSServiceDown")))
    assert "IMaaSServiceDown" in run_unit_tests(plan, tmp_path, tests)


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


def test_each_tenant_namespace_routes_its_alerts_to_its_tenants_receivers_only(stack: str, tmp_path: Path) -> None:
    plan = alerting_plan(stack)
    assert set(configs(plan)) == set(EXPECTED_SERVICES[stack])
    config = operator_config(plan, strategy="OnNamespace")
    assert leaks(config, tmp_path, sorted(configs(plan))) == []
    for namespace in configs(plan):
        assert routed(config, tmp_path, {"namespace": namespace}) == [f"{namespace}/imaas-alerts/tenant"]
    # An alert of no tenant namespace reaches no tenant.
    assert routed(config, tmp_path, {"namespace": "kube-system"}) == ["null"]


def test_without_the_namespace_matcher_every_tenant_would_get_every_alert(tmp_path: Path) -> None:
    plan = alerting_plan("prod")
    config = operator_config(plan, strategy="OnNamespace")
    for route in config["route"]["routes"]:
        route["matchers"] = []  # what the strategy None would generate
    assert leaks(config, tmp_path, sorted(configs(plan)))


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


def test_without_a_mail_relay_rules_are_declared_but_no_routes(stack: str) -> None:
    plan = example_plan(stack)
    assert configs(plan) == {}
    assert tenant_rules(plan)
    spec = values(plan, "kube-prometheus-stack")["alertmanager"]["alertmanagerSpec"]
    assert spec["alertmanagerConfigNamespaceSelector"] == {
        "matchExpressions": [{"key": "imaas.io/tenant", "operator": "Exists"}]
    }


# --- the relay and its password ----------------------------------------------------------------------------------


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
    (secret,) = of_type(plan, SECRET)
    assert secret.inputs["metadata"]["namespace"] == OBSERVABILITY
    data = secret.inputs["stringData"]
    assert set(data) == {SECRET_SIG, "value"}, "marked secret: a real engine encrypts it in the state"
    release = next(r for r in of_type(plan, "kubernetes:helm.sh/v3:Release") if r.name == "kube-prometheus-stack")
    assert secret.urn in release.dependsOn
    outside = [r for r in plan.resources if r is not secret]
    assert RELAY_PASSWORD not in json.dumps([r.inputs for r in outside])


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"observability": {"alerting": ALERTING}, "platformIdentities": ["imaas-deployer"]},
         "authUsername and alertmanagerSmtpPassword are set together"),
        ({"observability": {"alerting": ALERTING}, "alertmanagerSmtpPassword": RELAY_PASSWORD},
         "observability.alerting needs platformIdentities"),
        ({"observability": {"alerting": {**ALERTING, "smarthost": "smtp.example.com"}}}, "smarthost"),
    ],
)  # fmt: skip
def test_incomplete_alerting_settings_are_refused(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        plan_stack("prod", **settings)


def test_tenant_namespaces_of_the_plan_are_those_with_rules(stack: str) -> None:
    assert set(tenant_rules(example_plan(stack))) <= set(tenant_namespaces(example_plan(stack)))


def test_a_relay_password_stored_in_plain_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(
        (PROJECT_DIR / "Pulumi.dev.yaml").read_text()
        + f"  imaas:observability: {json.dumps({'alerting': ALERTING})}\n"
        + "  imaas:platformIdentities: [imaas-deployer]\n"
        + f"  imaas:alertmanagerSmtpPassword: {RELAY_PASSWORD}\n"
    )
    with pytest.raises(InputError) as raised:
        read_stack_file(tmp_path, "dev")
    [problem] = raised.value.problems
    assert problem.message == "must be a secret: pulumi config set --secret alertmanagerSmtpPassword"
    assert RELAY_PASSWORD not in str(raised.value)
