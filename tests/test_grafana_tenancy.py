"""Grafana's tenancy on the plan: sign-in settings and their mapping, the organisation job and the metrics proxy
with their network fences, and, for every pair of tenants of a multi-tenant set, that nothing declared gives one
tenant's identity another's logs, metrics, traces or dashboards. The guardrails that hold this are shown failing
on weakened plans."""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers import write_tenants
from planning import FIXTURE_TENANTS, PROJECT_DIR, example_plan, of_type, plan_stack
from test_argocd_repository import revealed
from test_guardrails import edited, resources, runner, violations, with_inputs
from tokens import CONFIG_MAP, NETWORK_POLICY, RELEASE

from imaas import cli
from imaas.declarations import grafana
from imaas.guardrails import Context, evaluate, stack_context
from imaas.incluster import tenant_config as tenant_job
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import plain_secrets, read_stack_file, settings_from_config
from imaas.model.settings import GrafanaSettings
from imaas.plan.guardrail_check import as_resource
from imaas.plan.record import Plan

SECRET = "client-secret-value-1234"
OIDC = {
    "clientId": "grafana",
    "authUrl": "https://idp.example.com/authorize",
    "tokenUrl": "https://idp.example.com/token",
    "apiUrl": "https://idp.example.com/userinfo",
}
GRAFANA = {"rootUrl": "https://grafana.example.com", "oidc": OIDC, "adminGroups": ["platform-admins"]}
TENANTS = {
    "ab": {"access": {"developers": ["ab-devs"], "viewers": ["ab-view"]}},
    "ab_c": {"access": {"developers": ["ab:c devs"], "viewers": ["abc-view"]}},
    "shop": {"access": {"developers": ["shop-devs"]}, "environments": ["dev", "prod"]},
    "quiet": {},
}


def with_sign_in(tenants: Path | None = None, stack: str = "dev") -> Plan:
    extra: dict[str, Any] = {"observability": {"grafana": GRAFANA}, "grafanaOidcClientSecret": SECRET}
    return plan_stack(stack, tenants, **extra) if tenants else plan_stack(stack, **extra)


def grafana_values(plan: Plan) -> dict[str, Any]:
    (release,) = [r for r in of_type(plan, RELEASE) if r.name == "kube-prometheus-stack"]
    return release.inputs["values"]["grafana"]


def org_states(plan: Plan) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["labels"]["imaas.io/tenant"]: json.loads(r.inputs["data"]["org.json"])
        for r in of_type(plan, CONFIG_MAP)
        if r.inputs["metadata"]["labels"].get("imaas.io/tenant-config") == "true"
    }


def sign_in(plan: Plan) -> dict[str, Any]:
    """The sign-in settings the tenant-configuration job writes through the SSO settings API for this plan's
    tenant objects."""
    config_maps = [r.inputs for r in of_type(plan, CONFIG_MAP)]
    (code,) = [c for c in config_maps if c["metadata"]["name"] == "imaas-grafana-orgs"]
    settings = json.loads(code["data"]["settings.json"])
    configs = [
        tenant_job.parse(c, settings)
        for c in config_maps
        if c["metadata"]["labels"].get("imaas.io/tenant-config") == "true"
    ]
    return tenant_job.sso_settings(configs, settings) if settings["sso"] else {"orgMapping": [], "allowedGroups": []}


def mapping(plan: Plan) -> list[tuple[str, str, str]]:
    entries = sign_in(plan)["orgMapping"]
    return [tuple(entry.replace("\\:", "\0").split(":")) for entry in entries]  # type: ignore[misc]


def reach(plan: Plan, groups: set[str]) -> dict[str, set[str]]:
    """What an identity in `groups` reads through Grafana: per kind, the tenant ids, namespaces and dashboards of
    every organisation its groups map it into, and whether it is in the main organisation."""
    found: dict[str, set[str]] = {"orgs": set(), "logs": set(), "traces": set(), "namespaces": set(), "boards": set()}
    states = org_states(plan)
    for group, org, _role in mapping(plan):
        if group.replace("\0", ":") not in groups:
            continue
        found["orgs"].add(org)
        if org == "1":
            continue
        for source in states[org]["datasources"]:
            value = source["secureJsonData"]["httpHeaderValue1"]
            kind = {"loki": "logs", "tempo": "traces", "prometheus": "namespaces"}[source["type"]]
            found[kind] |= set(value.split(",")) if kind == "namespaces" else {value}
        found["boards"] |= {dashboard["uid"] for dashboard in states[org]["dashboards"]}
    return found


# --- sign-in -----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_sign_in_maps_each_tenant_group_into_its_own_organisation_and_admins_into_the_main_one() -> None:
    plan = with_sign_in()
    ini = grafana_values(plan)["grafana.ini"]
    oauth = ini["auth.generic_oauth"]
    assert (oauth["enabled"], oauth["client_id"], oauth["api_url"]) == (True, "grafana", OIDC["apiUrl"])
    assert oauth["allow_assign_grafana_admin"] is False and oauth["skip_org_role_sync"] is False
    assert "role_attribute_path" not in oauth and "client_secret" not in oauth
    assert oauth["org_attribute_path"] == oauth["groups_attribute_path"] == "groups"
    assert sorted(mapping(plan)) == sorted(
        [
            ("platform-admins", "1", "Admin"),
            ("orders-devs", "orders", "Editor"),
            ("orders-auditors", "orders", "Viewer"),
            ("payments-devs", "payments", "Editor"),
            ("payments-auditors", "payments", "Viewer"),
            ("hr-devs", "hr", "Editor"),
        ]
    )
    assert set(sign_in(plan)["allowedGroups"]) == {g for g, _, _ in mapping(plan)}
    # grafana.ini maps and lets in the admins alone: the tenants' groups come from the job, never from Helm values.
    assert json.loads(oauth["org_mapping"]) == ["platform-admins:1:Admin"]
    assert json.loads(oauth["allowed_groups"]) == ["platform-admins"]
    assert sign_in(plan)["clientId"] == oauth["client_id"] and "clientSecret" not in sign_in(plan)
    assert ini["auth.anonymous"] == ini["public_dashboards"] == {"enabled": False}
    assert ini["users"]["allow_sign_up"] is False and ini["users"]["allow_org_create"] is False
    assert (ini["users"]["auto_assign_org_id"], ini["users"]["auto_assign_org_role"]) == (1, "None")
    assert ini["auth"]["disable_login_form"] is True
    assert ini["server"] == {"root_url": "https://grafana.example.com"}
    assert ini["sso_settings"] == {"reload_interval": "1m", "configurable_providers": "generic_oauth"}


@pytest.mark.slow
def test_the_client_secret_is_a_secret_in_the_plan_and_reaches_grafana_from_it() -> None:
    plan = with_sign_in()
    (secret,) = [r for r in plan.resources if r.type == "kubernetes:core/v1:Secret" and r.name == "imaas-grafana-oidc"]
    assert secret.inputs["metadata"]["namespace"] == "observability"
    # Marked secret (encrypted in the state, redacted from plan JSON), and nowhere else.
    assert revealed(secret.inputs["stringData"]) == {"client-secret": SECRET}
    assert SECRET not in json.dumps([r.inputs for r in plan.resources if r is not secret])
    env = grafana_values(plan)["envValueFrom"]
    assert env["GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET"] == {
        "secretKeyRef": {"name": "imaas-grafana-oidc", "key": "client-secret"}
    }
    # Besides the stores' reader passwords (imaas/declarations/store_auth.py), each from a Secret of its own.
    assert set(env) == {"GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET", "IMAAS_LOKI_PASSWORD", "IMAAS_TEMPO_PASSWORD"}


@pytest.mark.slow
def test_without_a_provider_nobody_but_the_admin_signs_in(stack: str) -> None:
    grafana_chart = grafana_values(example_plan(stack))
    assert "auth.generic_oauth" not in grafana_chart["grafana.ini"]
    assert set(grafana_chart["envValueFrom"]) == {"IMAAS_LOKI_PASSWORD", "IMAAS_TEMPO_PASSWORD"}
    assert not [r for r in example_plan(stack).resources if r.name == "imaas-grafana-oidc"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"imaas:observability": json.dumps({"grafana": {"oidc": OIDC}})}, "grafanaOidcClientSecret are set together"),
        (
            {"imaas:observability": json.dumps({"grafana": {"adminGroups": ["platform admins"]}})},
            "imaas:observability.grafana.adminGroups[0]: must match",
        ),
        (
            {"imaas:observability": json.dumps({"grafana": {"oidc": {**OIDC, "authUrl": "http://idp"}}})},
            "imaas:observability.grafana.oidc.authUrl: must match",
        ),
    ],
)
@pytest.mark.fast
def test_invalid_grafana_settings_are_refused_naming_the_key(extra: dict[str, str], message: str) -> None:
    config = {"imaas:environments": '["prod"]', "imaas:ingressHostSuffix": "apps.example.com",
              "imaas:ecrRegistry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com", **extra}  # fmt: skip
    with pytest.raises(InputError) as raised:
        settings_from_config(config, "prod")
    assert message in str(raised.value)


# --- the job and the proxy ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_job_runs_as_its_own_account_names_no_tenant_and_takes_the_admin_password_from_the_charts_secret(
    stack: str,
) -> None:
    plan = example_plan(stack)
    (job,) = [r for r in plan.resources if r.type == "kubernetes:batch/v1:CronJob"]
    assert job.inputs["metadata"]["namespace"] == "observability"
    pod = job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "docker.io/library/python:3.13.13-slim"
    env = {e["name"]: e for e in container["env"]}
    assert env["GRAFANA_PASSWORD"]["valueFrom"] == {
        "secretKeyRef": {"name": "kube-prometheus-stack-grafana", "key": "admin-password"}
    }
    assert "value" not in env["GRAFANA_PASSWORD"]
    (code,) = pod["volumes"]
    assert code["configMap"]["name"] == "imaas-grafana-orgs"
    assert {item["path"] for item in code["configMap"]["items"]} == {
        "imaas/incluster/grafana_sync.py",
        "imaas/incluster/tenant_config.py",
        "imaas/incluster/collector_reload.py",
        "settings.json",
    }
    assert pod["serviceAccountName"] == "imaas-grafana-orgs" and container["command"] == [
        "python",
        "-m",
        "imaas.incluster.tenant_config",
    ]
    assert not any(tenant in json.dumps(job.inputs) for tenant in org_states(plan))
    (release,) = [r for r in of_type(plan, RELEASE) if r.name == "kube-prometheus-stack"]
    assert release.urn in job.dependsOn
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.slow
def test_the_metrics_proxy_enforces_the_namespace_header_and_only_grafana_reaches_it(stack: str) -> None:
    plan = example_plan(stack)
    (proxy,) = [
        r for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment" and r.name == "imaas-metrics-proxy"
    ]
    (container,) = proxy.inputs["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "quay.io/prometheuscommunity/prom-label-proxy:v0.14.0"
    assert container["args"] == [
        "-insecure-listen-address=0.0.0.0:8080",
        "-upstream=http://prometheus-tenants.observability.svc.cluster.local:9090",
        "-label=namespace",
        "-header-name=X-Imaas-Namespaces",
        "-header-uses-list-syntax",
        "-enable-label-apis",
    ]
    policies = {
        r.name: r.inputs["spec"]
        for r in of_type(plan, NETWORK_POLICY)
        if r.inputs["metadata"]["namespace"] == "observability"
    }
    grafana_pods = {"podSelector": {"matchLabels": grafana.GRAFANA_POD_LABELS}}
    assert policies["imaas-metrics-proxy"]["ingress"] == [
        {"from": [grafana_pods], "ports": [{"protocol": "TCP", "port": 8080}]}
    ]
    assert policies["imaas-prometheus-tenants"]["podSelector"] == {
        "matchLabels": {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "tenants"}
    }
    # The promotion gate reads its services' alert series there too (imaas/declarations/promotion.py).
    assert policies["imaas-prometheus-tenants"]["ingress"][0]["from"] == [
        {"podSelector": {"matchLabels": grafana.METRICS_PROXY_POD_LABELS}},
        grafana_pods,
        {"podSelector": {"matchLabels": grafana.PROMOTION_GATE_POD_LABELS}},
    ]
    assert all(
        policies[name]["policyTypes"] == ["Ingress"] for name in ("imaas-metrics-proxy", "imaas-prometheus-tenants")
    )


# --- isolation, pair by pair ---------------------------------------------------------------------------------------


@pytest.mark.slow
def test_no_tenants_identity_reaches_another_tenants_data_or_dashboards(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, **TENANTS)
    plan = with_sign_in(tenants)
    states = org_states(plan)
    assert set(states) == {"ab", "ab-c", "shop", "quiet"}
    groups = {
        name.replace("_", "-"): set(spec.get("access", {}).get("developers", []))
        | set(spec.get("access", {}).get("viewers", []))
        for name, spec in TENANTS.items()
    }
    boards = {tenant: {d["uid"] for d in state["dashboards"]} for tenant, state in states.items()}
    for a, b in itertools.permutations(groups, 2):
        seen = reach(plan, groups[a])
        assert b not in seen["orgs"] and "1" not in seen["orgs"]
        assert b not in seen["logs"] | seen["traces"]
        assert not {ns for ns in seen["namespaces"] if not ns.startswith(f"{a}-") or ns.count("-") != a.count("-") + 1}
        assert not seen["boards"] & boards[b]
    for tenant, tenant_groups in groups.items():
        seen = reach(plan, tenant_groups)
        assert seen["orgs"] == ({tenant} if tenant_groups else set())
        if tenant_groups:
            hosted = {"shop": {"shop-dev"}}.get(tenant, {f"{tenant}-dev", f"{tenant}-test"})
            assert seen["namespaces"] == hosted and seen["logs"] == seen["traces"] == {tenant}
    # Only the platform admins are in the main organisation, where the platform's data sources are.
    assert reach(plan, {"platform-admins"})["orgs"] == {"1"}
    assert {s["uid"] for s in grafana_values(plan)["additionalDataSources"]} == {
        "prometheus-tenants",
        "loki-platform",
    }
    assert not any(
        s["uid"] in {"prometheus-tenants", "loki-platform", "jaeger"}
        for st in states.values()
        for s in st["datasources"]
    )
    # And the plan passes the guardrails that say so.
    context = stack_context(read_stack_file(PROJECT_DIR, "dev"), tenants)
    grafana_settings = context.settings.observability.grafana.model_copy(update={"admin_groups": ["platform-admins"]})
    observability = context.settings.observability.model_copy(update={"grafana": grafana_settings})
    context = replace(context, settings=context.settings.model_copy(update={"observability": observability}))
    found = [as_resource(r) for r in plan.resources]
    assert [v for v in evaluate(found, context) if v.mandatory] == []


# --- the guardrails, on weakened plans -----------------------------------------------------------------------------


def _state_edit(edit: Any) -> Any:
    def change(inputs: dict) -> None:
        state = json.loads(inputs["data"]["org.json"])
        edit(state)
        inputs["data"]["org.json"] = json.dumps(state)

    return with_inputs(change)


def _source(state: dict, kind: str) -> dict:
    return next(s for s in state["datasources"] if s["type"] == kind)


def _ini_edit(edit: Any) -> Any:
    return with_inputs(lambda inputs: edit(inputs["values"]["grafana"]))


ORDERS_STATE = (CONFIG_MAP, "orders-tenant-config")
RELEASE_KPS = (RELEASE, "kube-prometheus-stack")
PROXY = ("kubernetes:apps/v1:Deployment", "imaas-metrics-proxy")


def _secure(kind: str, value: str) -> Any:
    return _state_edit(lambda s: _source(s, kind)["secureJsonData"].update(httpHeaderValue1=value))


def _mapped(org_mapping: str) -> Any:
    oauth = {"enabled": True, "skip_org_role_sync": False, "org_mapping": org_mapping}
    return _ini_edit(lambda g: g["grafana.ini"].update({"auth.generic_oauth": oauth}))


def _proxy_args(edit: Any) -> Any:
    return with_inputs(lambda i: edit(i["spec"]["template"]["spec"]["containers"][0]["args"]))


UNFILTERED = "http://prometheus-tenants.observability.svc.cluster.local:9090"
ISOLATED, PROXIED = "grafana-orgs-isolated", "tenant-metrics-proxied"
WEAKENED = {
    # Another tenant's Loki, Tempo or namespaces in orders's organisation.
    "another Loki tenant": (ORDERS_STATE, _secure("loki", "hr"), ISOLATED),
    "another Tempo tenant": (ORDERS_STATE, _secure("tempo", "payments"), ISOLATED),
    "another's namespace": (ORDERS_STATE, _secure("prometheus", "orders-dev,hr-dev"), ISOLATED),
    "unfiltered metrics": (
        ORDERS_STATE,
        _state_edit(lambda s: _source(s, "prometheus").update(url=UNFILTERED)),
        ISOLATED,
    ),
    "a second header": (
        ORDERS_STATE,
        _state_edit(lambda s: _source(s, "loki")["jsonData"].update(httpHeaderName2="X-Scope-OrgID")),
        ISOLATED,
    ),
    "a platform data source on a dashboard": (
        ORDERS_STATE,
        _state_edit(lambda s: s["dashboards"][0]["panels"][0].update(datasource={"uid": "loki-platform"})),
        ISOLATED,
    ),
    "another's organisation": (ORDERS_STATE, _state_edit(lambda s: s.update(name="hr")), ISOLATED),
    "a role for a group outside its access": (
        ORDERS_STATE,
        with_inputs(
            lambda i: i["data"].update({"tenant.json": i["data"]["tenant.json"].replace('"orders-devs"', '"hr-devs"')})
        ),
        ISOLATED,
    ),
    # Sign-in: into another tenant's organisation, as Admin, everyone everywhere, into the main organisation.
    "mapped into another's": (RELEASE_KPS, _mapped('["orders-devs:hr:Viewer"]'), ISOLATED),
    "mapped as Admin": (RELEASE_KPS, _mapped("orders-devs:orders:Admin"), ISOLATED),
    "a wildcard": (RELEASE_KPS, _mapped('["*:*:Viewer"]'), ISOLATED),
    "a tenant in the main organisation": (RELEASE_KPS, _mapped('["orders-devs:1:Viewer"]'), ISOLATED),
    "anonymous access": (
        RELEASE_KPS,
        _ini_edit(lambda g: g["grafana.ini"]["auth.anonymous"].update(enabled=True)),
        ISOLATED,
    ),
    "public dashboards": (
        RELEASE_KPS,
        _ini_edit(lambda g: g["grafana.ini"].pop("public_dashboards")),
        ISOLATED,
    ),
    "unmapped users as viewers": (
        RELEASE_KPS,
        _ini_edit(lambda g: g["grafana.ini"]["users"].update(auto_assign_org_role="Viewer")),
        ISOLATED,
    ),
    "a platform source elsewhere": (
        RELEASE_KPS,
        _ini_edit(lambda g: g["additionalDataSources"][0].update(orgId=2)),
        ISOLATED,
    ),
    # The proxy: a query parameter choosing the namespaces, no enforced label, no proxy; its fences opened.
    "a query parameter": (PROXY, _proxy_args(lambda args: args.append("-query-param=namespace")), PROXIED),
    "no label": (PROXY, _proxy_args(lambda args: args.remove("-label=namespace")), PROXIED),
    "no proxy": (PROXY, lambda r: None, PROXIED),
    "the proxy open to all": (
        (NETWORK_POLICY, "imaas-metrics-proxy"),
        with_inputs(lambda i: i["spec"]["ingress"][0].update({"from": [{"namespaceSelector": {}}]})),
        PROXIED,
    ),
    # Removing one policy no longer unfences it (the namespace's default deny and fence stay): widening one does.
    "the tenants' Prometheus's fence widened": (
        (NETWORK_POLICY, "imaas-fence-tenant-prometheus"),
        with_inputs(lambda i: i["spec"]["ingress"][0]["from"].append({"namespaceSelector": {}})),
        PROXIED,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(("target", "change", "policy"), WEAKENED.values(), ids=WEAKENED.keys())
def test_a_weakened_plan_is_refused(target: tuple[str, str], change: Any, policy: str) -> None:
    found = edited(resources(), *target, change)
    assert policy in {name for name, _ in violations(found)}


@pytest.mark.slow
def test_the_guardrails_see_a_sidecar_data_source_of_a_tenant() -> None:
    plan = example_plan("dev")
    found = [as_resource(r) for r in plan.resources]
    (state,) = [r for r in found if r.name == "orders-tenant-config"]
    sidecar = copy.deepcopy(state)
    sidecar.inputs["metadata"]["labels"] = {"imaas.io/tenant": "orders", "grafana_datasource": "1"}
    context: Context = stack_context(read_stack_file(PROJECT_DIR, "dev"), FIXTURE_TENANTS)
    names = {v.policy for v in evaluate([*found, sidecar], context)}
    assert "grafana-orgs-isolated" in names


@pytest.mark.slow
def test_plan_exits_1_when_a_component_shares_one_tenants_logs_with_another(monkeypatch: pytest.MonkeyPatch) -> None:
    original = grafana.org_datasources

    def leaky(telemetry: Any, endpoints: Any) -> list[dict[str, Any]]:
        # A test double for a regression: hr's organisation reads the orders Loki tenant.
        sources = original(telemetry, endpoints)
        if telemetry.tenant == "hr":
            sources[0] = {**sources[0], "secureJsonData": {"httpHeaderValue1": "orders"}}
        return sources

    monkeypatch.setattr(grafana, "org_datasources", leaky)
    result = runner.invoke(cli.app, ["plan", "--stack", "prod.hr", "--tenants", str(FIXTURE_TENANTS)])
    assert result.exit_code == 1
    assert (
        "grafana-orgs-isolated: tenant hr: kubernetes:ConfigMap hr-tenant-config: data source imaas-logs reads the"
        in (" ".join(result.output.split()))
    )


@pytest.mark.fast
def test_the_client_secret_is_refused_in_plain_text() -> None:
    (problem,) = plain_secrets({"imaas:grafanaOidcClientSecret": "plain"}, lambda key: False, "Pulumi.dev.yaml")
    assert problem.message == "must be a secret: pulumi config set --secret grafanaOidcClientSecret"
    assert plain_secrets({"imaas:grafanaOidcClientSecret": "[secret]"}, lambda key: True, "Pulumi.dev.yaml") == []


@pytest.mark.slow
def test_grafanas_database_outlives_its_pod_and_the_release(stack: str) -> None:
    chart = grafana_values(example_plan(stack))
    assert chart["persistence"] == {
        "enabled": True,
        "size": GrafanaSettings().storage,  # the default: the example stacks set none
        "annotations": {"helm.sh/resource-policy": "keep"},
        "storageClassName": "gp3",  # imaas:storageClass (tests/test_storage_class.py)
    }
    assert chart["deploymentStrategy"] == {"type": "Recreate"}
