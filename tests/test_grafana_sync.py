"""The Grafana organisation job (imaas/spec/grafana_sync.py) against an in-process fake of Grafana's HTTP API: it
creates what is missing, updates what differs, removes only what it owns, never touches the main organisation,
and a second run changes nothing. The state it applies is the one the plan declares."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fake_grafana import PASSWORD, USER, Org, State, fake_grafana
from helpers import WAIT_SECONDS
from planning import example_plan, of_type
from tokens import CONFIG_MAP

from imaas.spec import grafana_sync
from imaas.spec.grafana_sync import DIGEST_KEY, Grafana, GrafanaError, reconcile

SCRIPT = Path(grafana_sync.__file__)


# The stores' reader passwords, as the job's pod has them from the Grafana client Secret (imaas/spec/store_auth.py).
READER_PASSWORDS = {"IMAAS_LOKI_PASSWORD": "loki-reader-password", "IMAAS_TEMPO_PASSWORD": "tempo-reader-password"}


@pytest.fixture(autouse=True)
def reader_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in READER_PASSWORDS.items():
        monkeypatch.setenv(name, value)


def declared_states(stack: str = "dev") -> list[dict]:
    return [
        json.loads(r.inputs["data"]["org.json"])
        for r in of_type(example_plan(stack), CONFIG_MAP)
        if r.inputs["metadata"]["labels"].get("imaas.io/grafana-org") == "true"
    ]


def mounted_script(directory: Path) -> Path:
    """The script as the plan's ConfigMap holds it, alone in a directory as in the job's pod."""
    (script,) = [
        r.inputs["data"]["grafana_sync.py"]
        for r in of_type(example_plan("dev"), CONFIG_MAP)
        if r.inputs["metadata"]["name"] == "imaas-grafana-orgs"
    ]
    assert script == SCRIPT.read_text()
    directory.mkdir()
    path = directory / "grafana_sync.py"
    path.write_text(script)
    return path


def client(url: str, password: str = PASSWORD) -> Grafana:
    return Grafana(url, USER, password, timeout=WAIT_SECONDS)


@pytest.mark.fast
def test_the_script_uses_the_standard_library_only() -> None:
    imported = set()
    for node in ast.walk(ast.parse(SCRIPT.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}


@pytest.mark.slow
def test_a_first_run_creates_every_organisation_with_its_data_sources_and_dashboard() -> None:
    desired = declared_states()
    with fake_grafana() as (url, state):
        log = reconcile(client(url), desired)
    assert {org.name for org in state.orgs.values()} == {"Main Org.", "orders", "payments", "hr"}
    assert state.orgs[1].datasources == state.orgs[1].dashboards == {}  # the main organisation is not touched
    assert all(org_id != 1 for _, _, org_id in state.writes() if org_id is not None)
    for wanted in desired:
        org = state.org_named(wanted["name"])
        assert set(org.datasources) == {"imaas-logs", "imaas-metrics", "imaas-traces"}
        for source in wanted["datasources"]:
            applied = org.datasources[source["uid"]]
            written = grafana_sync.with_credentials(source, READER_PASSWORDS)
            assert applied["secureJsonData"] == written["secureJsonData"]
            assert applied["jsonData"][DIGEST_KEY] == grafana_sync.digest(written)
            if source["type"] in ("loki", "tempo"):
                store = source["type"].upper()
                assert applied["basicAuthUser"] == "grafana"
                assert applied["secureJsonData"]["basicAuthPassword"] == READER_PASSWORDS[f"IMAAS_{store}_PASSWORD"]
        assert set(org.dashboards) == {d["uid"] for d in wanted["dashboards"]}
    assert sum("created organisation" in line for line in log) == 3


@pytest.mark.slow
def test_a_second_run_changes_nothing() -> None:
    desired = declared_states()
    with fake_grafana() as (url, state):
        reconcile(client(url), desired)
        before = len(state.writes())
        assert reconcile(client(url), desired) == []
        assert len(state.writes()) == before


@pytest.mark.slow
def test_a_changed_data_source_or_dashboard_is_updated_in_place() -> None:
    desired = declared_states()
    with fake_grafana() as (url, state):
        reconcile(client(url), desired)
        changed = copy.deepcopy(desired)
        orders = next(s for s in changed if s["name"] == "orders")
        metrics = next(s for s in orders["datasources"] if s["uid"] == "imaas-metrics")
        metrics["secureJsonData"]["httpHeaderValue1"] = "orders-dev"  # an environment gone: a secure value only
        orders["dashboards"][0]["title"] = "renamed"
        # And someone edited the hr dashboard by hand: it is put back.
        hr = state.org_named("hr")
        hr.dashboards["imaas-hr-wso2mi"]["panels"] = []
        log = reconcile(client(url), changed)
        org = state.org_named("orders")
        assert org.datasources["imaas-metrics"]["secureJsonData"] == {"httpHeaderValue1": "orders-dev"}
        assert org.dashboards["imaas-orders-wso2mi"]["title"] == "renamed"
        assert hr.dashboards["imaas-hr-wso2mi"]["panels"]
    assert sorted(line.split(": ", 1)[1] for line in log) == [
        "updated dashboard imaas-hr-wso2mi",
        "updated dashboard imaas-orders-wso2mi",
        "updated data source imaas-metrics",
    ]
    assert {method for method, *_ in state.writes()[-3:]} <= {"PUT", "POST"}


@pytest.mark.slow
def test_it_removes_only_what_it_owns_and_keeps_organisations() -> None:
    desired = declared_states()
    with fake_grafana() as (url, state):
        reconcile(client(url), desired)
        orders = state.org_named("orders")
        # What a tenant or an admin made by hand is not the job's: no imaas- prefix.
        orders.datasources["team-sql"] = {"uid": "team-sql", "type": "mysql"}
        orders.dashboards["my-board"] = {"uid": "my-board", "title": "mine"}
        state.orgs[1].datasources["prometheus"] = {"uid": "prometheus", "type": "prometheus"}
        state.orgs[1].dashboards["imaas-platform"] = {"uid": "imaas-platform"}
        # orders is decommissioned: it leaves the desired state; payments loses its traces data source.
        remaining = copy.deepcopy([s for s in desired if s["name"] != "orders"])
        payments = next(s for s in remaining if s["name"] == "payments")
        payments["datasources"] = [s for s in payments["datasources"] if s["uid"] != "imaas-traces"]
        reconcile(client(url), remaining)
        assert state.org_named("orders") is orders  # kept, with what its users made
        assert set(orders.datasources) == {"team-sql"}
        assert set(orders.dashboards) == {"my-board"}
        assert set(state.org_named("payments").datasources) == {"imaas-logs", "imaas-metrics"}
        assert set(state.orgs[1].datasources) == {"prometheus"}
        assert set(state.orgs[1].dashboards) == {"imaas-platform"}


@pytest.mark.slow
@pytest.mark.parametrize("members", [{}, {USER: "Viewer"}])
def test_an_existing_organisation_is_adopted_not_duplicated(members: dict[str, str]) -> None:
    state = State()
    state.orgs[7] = Org(7, "orders", members=dict(members))  # made by hand, without the job's account as Admin
    with fake_grafana(state) as (url, state):
        reconcile(client(url), declared_states())
        assert reconcile(client(url), declared_states()) == []
    assert [org.id for org in state.orgs.values() if org.name == "orders"] == [7]
    assert state.orgs[7].members[USER] == "Admin"
    assert set(state.orgs[7].datasources) == {"imaas-logs", "imaas-metrics", "imaas-traces"}


@pytest.mark.fast
def test_a_tenant_named_like_the_main_organisation_is_refused() -> None:
    with fake_grafana() as (url, _), pytest.raises(GrafanaError, match="main organisation"):
        reconcile(client(url), [{"name": "Main Org.", "datasources": [], "dashboards": []}])


@pytest.mark.slow
def test_the_script_exits_1_with_one_line_and_no_secret_on_a_refusal(tmp_path: Path) -> None:
    (tmp_path / "orders.json").write_text(json.dumps(declared_states()[0]))
    script = mounted_script(tmp_path / "opt")
    with fake_grafana() as (url, state):
        env = {
            "GRAFANA_URL": url,
            "GRAFANA_USER": USER,
            "GRAFANA_PASSWORD": "wrong-password",
            "STATE_DIR": str(tmp_path),
        }
        result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "grafana-orgs: GET /api/orgs?perpage=5000: HTTP 401"
    assert "wrong-password" not in result.stdout + result.stderr
    assert len(state.orgs) == 1


@pytest.mark.slow
def test_the_script_applies_the_mounted_state(tmp_path: Path) -> None:
    for wanted in declared_states("prod"):
        (tmp_path / f"{wanted['name']}.json").write_text(json.dumps(wanted))
    script = mounted_script(tmp_path / "opt")
    with fake_grafana() as (url, state):
        env = {
            "GRAFANA_URL": url,
            "GRAFANA_USER": USER,
            "GRAFANA_PASSWORD": PASSWORD,
            "STATE_DIR": str(tmp_path),
            **READER_PASSWORDS,
        }
        result = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert {org.name for org in state.orgs.values()} == {"Main Org.", "orders", "payments", "hr"}


@pytest.mark.slow
def test_a_data_source_whose_credential_is_missing_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IMAAS_TEMPO_PASSWORD")
    with fake_grafana() as (url, state), pytest.raises(GrafanaError, match="IMAAS_TEMPO_PASSWORD is not set"):
        reconcile(client(url), declared_states())
    assert all("imaas-traces" not in org.datasources for org in state.orgs.values())
