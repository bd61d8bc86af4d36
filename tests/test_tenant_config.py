"""Tenant-agnostic shared releases (issue 26): each tenant's limits, trace routes and Grafana organisation are in its
own ConfigMap, and the in-cluster job (imaas/incluster/tenant_config.py) merges them into Loki's runtime file,
Tempo's overrides file, the collector's routes file and Grafana's organisations and sign-in mapping.

On the plan: adding a tenant changes no shared object. On recorded inputs (the plan's own tenant objects), against
a fake Kubernetes API and the fake Grafana on 127.0.0.1: what the job writes, what it refuses, what it keeps."""

from __future__ import annotations

import ast
import copy
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fake_grafana import PASSWORD, USER, State, fake_grafana
from fake_kubernetes import TOKEN, Cluster, fake_kubernetes
from helpers import WAIT_SECONDS, write_tenant
from planning import FIXTURE_TENANTS, example_plan, of_type, plan_stack

from imaas.declarations import tenant_config, types
from imaas.incluster import collector_reload, grafana_sync
from imaas.incluster import tenant_config as job
from imaas.plan.record import Plan, PlannedResource

NAMESPACE = "observability"
PACKAGE = Path(job.__file__).parent
# The stores' reader passwords, as the job's pod has them from the Grafana client Secret
# (imaas/declarations/store_auth.py).
READER_PASSWORDS = {"IMAAS_LOKI_PASSWORD": "loki-reader-password", "IMAAS_TEMPO_PASSWORD": "tempo-reader-password"}


def under_tenant(plan: Plan) -> set[str]:
    """The URNs of every resource beneath a tenant component."""
    parents = {r.urn: r.parent for r in plan.resources}
    kinds = {r.urn: r.type for r in plan.resources}

    def tenant_owned(urn: str | None) -> bool:
        while urn is not None:
            if kinds.get(urn) == types.TENANT:
                return True
            urn = parents.get(urn)
        return False

    return {r.urn for r in plan.resources if tenant_owned(r.urn)}


def shared(plan: Plan) -> dict[str, str]:
    """Every shared resource (not beneath a tenant component), by URN: its inputs and options as bytes."""
    owned = under_tenant(plan)
    return {
        r.urn: json.dumps([r.inputs, r.protect, r.retainOnDelete, r.dependsOn], sort_keys=True)
        for r in plan.resources
        if r.urn not in owned
    }


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_adding_a_tenant_changes_no_shared_object(stack: str, tmp_path: Path) -> None:
    before_dir = shutil.copytree(FIXTURE_TENANTS, tmp_path / "before")
    after_dir = shutil.copytree(FIXTURE_TENANTS, tmp_path / "after")
    write_tenant(after_dir, "ads", "access: {developers: [ads-devs]}\nservices: [{name: banner}]\n")
    before, after = plan_stack(stack, before_dir), plan_stack(stack, after_dir)
    assert any(r.name == "ads-tenant-config" for r in after.resources)
    old, new = shared(before), shared(after)
    changed = {urn.rsplit("::", 1)[1] for urn in old.keys() ^ new.keys()}
    changed |= {urn.rsplit("::", 1)[1] for urn in old.keys() & new.keys() if old[urn] != new[urn]}
    # Nothing shared lists the tenants: not the releases, the job, nor the rulesets (they select by property).
    assert changed == set(), sorted(changed)
    releases = {r.name: r for r in of_type(after, types.HELM_RELEASE)}
    assert {"loki", "tempo", "opentelemetry-collector", "kube-prometheus-stack"} <= set(releases)
    assert not changed & {"loki", "tempo", "opentelemetry-collector", "kube-prometheus-stack", "imaas-grafana-orgs"}


@pytest.mark.fast
@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda path: path.name)
def test_the_in_cluster_programs_use_the_standard_library_and_each_other_only(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__" or name.startswith("imaas.incluster"), name


# Recorded inputs: the tenant objects and the job's settings as the plan declares them.


def planned_objects(stack: str = "dev") -> list[dict[str, Any]]:
    key, value = tenant_config.LABEL
    return [
        copy.deepcopy(r.inputs)
        for r in of_type(example_plan(stack), types.CONFIG_MAP)
        if r.inputs["metadata"]["labels"].get(key) == value
    ]


def job_config_map(stack: str = "dev") -> PlannedResource:
    (found,) = [
        r
        for r in of_type(example_plan(stack), types.CONFIG_MAP)
        if r.inputs["metadata"]["name"] == "imaas-grafana-orgs"
    ]
    return found


def settings(stack: str = "dev", **changes: Any) -> dict[str, Any]:
    found = json.loads(job_config_map(stack).inputs["data"][tenant_config.SETTINGS_KEY])
    return {**found, **changes}


def sso_sample() -> dict[str, Any]:
    return {
        "enabled": True,
        "clientId": "grafana",
        "authUrl": "https://idp.example.com/auth",
        "tokenUrl": "https://idp.example.com/token",
    }


def cluster_with(objects: list[dict[str, Any]]) -> Cluster:
    cluster = Cluster(NAMESPACE, writable=frozenset(job.OUTPUTS))
    for obj in objects:
        obj["metadata"]["namespace"] = NAMESPACE
        cluster.add(obj)
    for name, data in tenant_config.initial_outputs().items():
        cluster.add({"metadata": {"name": name, "namespace": NAMESPACE}, "data": dict(data)})
    return cluster


def run(cluster: Cluster, state: State | None = None, **changes: Any) -> tuple[job.Run, State]:
    with fake_kubernetes(cluster) as kube_url, fake_grafana(state) as (grafana_url, grafana_state):
        kube = job.Kubernetes(kube_url, NAMESPACE, TOKEN, timeout=WAIT_SECONDS)
        grafana = grafana_sync.Grafana(grafana_url, USER, PASSWORD, timeout=WAIT_SECONDS)
        result = job.reconcile(kube, grafana, settings(namespace=NAMESPACE, **changes), READER_PASSWORDS)
    return result, grafana_state


def written(cluster: Cluster, name: str, key: str) -> Any:
    return json.loads(cluster.data(name)[key])


@pytest.mark.slow
def test_the_job_merges_every_tenants_object_into_the_stores_and_grafana() -> None:
    cluster = cluster_with(planned_objects())
    result, grafana = run(cluster, sso=sso_sample(), adminGroups=["platform-admins"])
    assert result.failures == []
    declared = {
        o["metadata"]["labels"]["imaas.io/tenant"]: json.loads(o["data"]["tenant.json"]) for o in planned_objects()
    }
    loki = written(cluster, job.LOKI_CONFIG_MAP, job.LOKI_KEY)["overrides"]
    assert loki == {tenant: body["logs"] for tenant, body in declared.items()}
    assert set(loki) == {"orders", "payments", "hr"}
    tempo = written(cluster, job.TEMPO_CONFIG_MAP, job.TEMPO_KEY)["overrides"]
    assert tempo == {tenant: body["traces"] for tenant, body in declared.items()}
    assert set(tempo["orders"]) == {"ingestion", "global", "compaction"}
    routes = written(cluster, job.COLLECTOR_CONFIG_MAP, job.COLLECTOR_KEY)
    table = routes["connectors"][job.ROUTER]["table"]
    by_pipeline = {route["pipelines"][0]: route["condition"] for route in table}
    assert by_pipeline["traces/hr"] == 'attributes["k8s.namespace.name"] == "hr-dev" or ' + (
        'attributes["k8s.namespace.name"] == "hr-test"'
    )
    for tenant in ("orders", "payments", "hr"):
        exporter = routes["exporters"][f"otlp/{tenant}"]
        # The collector's credential at Tempo's proxy, by the variable its pod has from its Secret, never a value.
        assert exporter["headers"] == {"X-Scope-OrgID": tenant, "Authorization": "${env:IMAAS_TEMPO_AUTHORIZATION}"}
        assert routes["service"]["pipelines"][f"traces/{tenant}"] == {
            "receivers": ["routing"],
            "exporters": [f"otlp/{tenant}"],
        }
    # Grafana: every organisation, the mapping of each tenant's groups into its own, the admins into the main one.
    assert {org.name for org in grafana.orgs.values()} == {"Main Org.", "orders", "payments", "hr"}
    # The organisations' Loki and Tempo data sources carry the reader's password from the job's environment.
    for org in grafana.orgs.values():
        if org.name != "Main Org.":
            for uid, store in (("imaas-logs", "LOKI"), ("imaas-traces", "TEMPO")):
                secure = org.datasources[uid]["secureJsonData"]
                assert secure["basicAuthPassword"] == READER_PASSWORDS[f"IMAAS_{store}_PASSWORD"]
    mapping = grafana.sso["orgMapping"]
    assert "platform-admins:1:Admin" in mapping
    assert "hr-devs:hr:Editor" in mapping
    assert all(entry.split(":")[1] in {"1", "orders", "payments", "hr"} for entry in mapping)
    assert "clientSecret" not in grafana.sso  # Grafana keeps the one of its environment
    assert set(grafana.sso["allowedGroups"]) == {"platform-admins", *(e.split(":")[0] for e in mapping)}
    # Only the three runtime files were written.
    assert {path.split("?")[0].rsplit("/", 1)[1] for method, path in cluster.requests if method == "PATCH"} == set(
        job.OUTPUTS
    )


@pytest.mark.slow
def test_a_second_run_writes_nothing() -> None:
    cluster = cluster_with(planned_objects())
    state = State()
    run(cluster, state, sso=sso_sample())
    cluster.requests.clear()
    writes_before = len(state.writes())
    result, _ = run(cluster, state, sso=sso_sample())
    assert result.log == [] and result.failures == []
    assert [method for method, _ in cluster.requests if method != "GET"] == []
    assert len(state.writes()) == writes_before


@pytest.mark.slow
def test_no_tenant_leaves_a_route_that_matches_nothing() -> None:
    cluster = cluster_with([])
    result, _ = run(cluster)
    assert result.failures == []
    routes = written(cluster, job.COLLECTOR_CONFIG_MAP, job.COLLECTOR_KEY)
    assert routes["connectors"]["routing"]["table"] == [
        {"context": "resource", "condition": "false", "pipelines": ["traces/none"]}
    ]
    assert collector_reload.usable(cluster.data(job.COLLECTOR_CONFIG_MAP)[job.COLLECTOR_KEY])


def malformed(objects: list[dict[str, Any]], tenant: str, change: Any) -> list[dict[str, Any]]:
    for obj in objects:
        if obj["metadata"]["labels"]["imaas.io/tenant"] == tenant:
            change(obj)
    return objects


def _double_rate(obj: dict[str, Any]) -> None:
    body = json.loads(obj["data"]["tenant.json"])
    body["logs"]["ingestion_rate_mb"] *= 2
    obj["data"]["tenant.json"] = json.dumps(body)


BREAKAGES = {
    "an unknown limit": lambda o: o["data"].update(
        {"tenant.json": o["data"]["tenant.json"].replace('"ingestion_rate_mb"', '"ingestion_rate_mb_x"')}
    ),
    "not JSON": lambda o: o["data"].update({"tenant.json": "{"}),
    "another tenant's name in its data": lambda o: o["data"].update(
        {"tenant.json": o["data"]["tenant.json"].replace('"tenant": "hr"', '"tenant": "orders"')}
    ),
    "an environment the cluster lacks": lambda o: o["data"].update(
        {"tenant.json": o["data"]["tenant.json"].replace('"dev"', '"staging"', 1)}
    ),
    "an organisation of another tenant": lambda o: o["data"].update(
        {"org.json": o["data"]["org.json"].replace('"name": "hr"', '"name": "orders"')}
    ),
    "a wildcard group": lambda o: o["data"].update(
        {"tenant.json": o["data"]["tenant.json"].replace('"hr-devs"', '"*"')}
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_malformed_object_is_reported_and_its_tenant_keeps_what_it_had(breakage: str) -> None:
    cluster = cluster_with(planned_objects())
    state = State()
    run(cluster, state, sso=sso_sample())
    before = {name: cluster.data(name) for name in job.OUTPUTS}
    hr_org = copy.deepcopy(state.org_named("hr"))
    mapping_before = sorted(state.sso["orgMapping"])
    # hr's object breaks, and orders changes: orders is applied, hr is held as it was.
    objects = malformed(planned_objects(), "hr", BREAKAGES[breakage])
    objects = malformed(objects, "orders", _double_rate)
    for obj in objects:
        cluster.add({**obj, "metadata": {**obj["metadata"], "namespace": NAMESPACE}})
    result, _ = run(cluster, state, sso=sso_sample())
    assert len(result.failures) == 1, result.failures
    assert result.failures[0].startswith("ConfigMap imaas-tenant-hr: ") and result.failures[0].endswith("skipped")
    old_loki = json.loads(before[job.LOKI_CONFIG_MAP][job.LOKI_KEY])["overrides"]
    loki = written(cluster, job.LOKI_CONFIG_MAP, job.LOKI_KEY)["overrides"]
    assert loki["hr"] == old_loki["hr"]
    assert loki["orders"]["ingestion_rate_mb"] == 2 * old_loki["orders"]["ingestion_rate_mb"]
    assert written(cluster, job.TEMPO_CONFIG_MAP, job.TEMPO_KEY) == json.loads(
        before[job.TEMPO_CONFIG_MAP][job.TEMPO_KEY]
    )
    assert written(cluster, job.COLLECTOR_CONFIG_MAP, job.COLLECTOR_KEY) == json.loads(
        before[job.COLLECTOR_CONFIG_MAP][job.COLLECTOR_KEY]
    )
    assert state.org_named("hr").datasources == hr_org.datasources
    assert sorted(state.sso["orgMapping"]) == mapping_before


@pytest.mark.slow
@pytest.mark.parametrize(
    "identity",
    [
        {"labels": {"imaas.io/tenant": "hr"}},  # not the platform's
        {"name": "imaas-tenant-orders"},  # hr's label, orders' name
        {"labels": {"imaas.io/tenant": "Not_A_Tenant", "app.kubernetes.io/managed-by": "pulumi"}},
    ],
    ids=["not-managed-by-pulumi", "name-of-another-tenant", "label-no-tenant-name"],
)
def test_an_object_whose_identity_does_not_hold_speaks_for_nobody(identity: dict[str, Any]) -> None:
    objects = [o for o in planned_objects() if o["metadata"]["labels"]["imaas.io/tenant"] != "orders"]
    (hr,) = [o for o in objects if o["metadata"]["labels"]["imaas.io/tenant"] == "hr"]
    forged = copy.deepcopy(hr)
    forged["metadata"]["name"] = identity.get("name", "imaas-tenant-forged")
    forged["metadata"]["labels"] = {
        **identity.get("labels", hr["metadata"]["labels"]),
        "imaas.io/tenant-config": "true",
    }
    forged["data"]["tenant.json"] = forged["data"]["tenant.json"].replace("hr-devs", "everyone")
    cluster = cluster_with([*objects, forged])
    result, grafana = run(cluster, sso=sso_sample())
    assert [f.split(":")[0] for f in result.failures] == [f"ConfigMap {forged['metadata']['name']}"]
    assert not any("everyone" in entry for entry in grafana.sso["orgMapping"])
    assert "orders" not in written(cluster, job.LOKI_CONFIG_MAP, job.LOKI_KEY)["overrides"]


@pytest.mark.slow
def test_grafana_refusing_one_organisation_stops_no_other() -> None:
    state = State(refused={"orders"})
    cluster = cluster_with(planned_objects())
    result, grafana = run(cluster, state, sso=sso_sample())
    assert len(result.failures) == 1 and result.failures[0].startswith(
        "organisation 'orders': POST /api/orgs: HTTP 500"
    )
    assert {org.name for org in grafana.orgs.values()} == {"Main Org.", "payments", "hr"}
    assert set(grafana.org_named("hr").datasources) == {"imaas-logs", "imaas-metrics", "imaas-traces"}
    assert "loki" not in result.failures[0] and grafana.sso["orgMapping"]


@pytest.mark.slow
def test_the_pod_runs_the_job_from_the_planned_config_map_and_reports_on_stderr(tmp_path: Path) -> None:
    """The job as its pod runs it: the modules and settings laid out as the ConfigMap's items mount them, run with
    `python -m`, nothing of the project on the path. One bad object: exit 1, one line naming it, no secret."""
    planned = job_config_map()
    (cron_job,) = [r for r in of_type(example_plan("dev"), "kubernetes:batch/v1:CronJob")]
    (volume,) = cron_job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["volumes"]
    assert volume["configMap"]["name"] == planned.inputs["metadata"]["name"]
    code = tmp_path / "opt"
    for item in volume["configMap"]["items"]:
        target = code / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(planned.inputs["data"][item["key"]])
    (code / tenant_config.SETTINGS_KEY).write_text(json.dumps(settings(namespace=NAMESPACE)))
    objects = malformed(planned_objects(), "hr", BREAKAGES["not JSON"])
    cluster = cluster_with(objects)
    with fake_kubernetes(cluster) as kube_url, fake_grafana() as (grafana_url, state):
        env = {
            "KUBERNETES_URL": kube_url,
            "GRAFANA_URL": grafana_url,
            "GRAFANA_USER": USER,
            "GRAFANA_PASSWORD": PASSWORD,
            "SETTINGS_FILE": str(code / tenant_config.SETTINGS_KEY),
            "PYTHONPATH": str(code),
            **READER_PASSWORDS,
        }
        # The fake wants the ServiceAccount's token, which a pod reads from its mounted file.
        env_token = {"KUBERNETES_TOKEN_FILE": str(tmp_path / "token")}
        (tmp_path / "token").write_text(TOKEN)
        result = subprocess.run(
            [sys.executable, "-m", tenant_config.ENTRY],
            env={**env, **env_token},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=WAIT_SECONDS,
        )
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == "tenant-config: ConfigMap imaas-tenant-hr: tenant.json is not JSON; skipped"
    output = result.stdout + result.stderr
    assert all(secret not in output for secret in (PASSWORD, TOKEN, *READER_PASSWORDS.values()))
    assert {org.name for org in state.orgs.values()} == {"Main Org.", "orders", "payments"}


@pytest.mark.fast
def test_the_job_may_list_configmaps_and_write_only_its_three_files() -> None:
    assert tenant_config.RULES == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "verbs": ["get", "patch"],
            "resourceNames": ["imaas-loki-tenant-limits", "imaas-tempo-tenant-limits", "imaas-collector-routes"],
        },
    ]


@pytest.mark.slow
def test_a_file_too_large_for_its_config_map_is_reported_and_left_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = cluster_with(planned_objects())
    before = {name: cluster.data(name) for name in job.OUTPUTS}
    monkeypatch.setattr(job, "MAX_FILE_BYTES", 10)
    result, _ = run(cluster, sso=sso_sample())
    assert {name: cluster.data(name) for name in job.OUTPUTS} == before
    assert len([f for f in result.failures if "more than a ConfigMap holds" in f]) == len(job.OUTPUTS)
