"""The Grafana organisation sync (imaas/incluster/grafana_sync.py) against an in-process fake of Grafana's HTTP API:
it creates what is missing, updates what differs, removes only what it owns, never touches the main organisation,
applies every organisation it can and reports the others, and a second run changes nothing. The state it applies is
the one the plan declares (each tenant's configuration object). The job that drives it as a pod is tested in
tests/test_tenant_config.py."""

from __future__ import annotations

import copy
import json

import pytest
from fake_grafana import PASSWORD, USER, Org, State, fake_grafana
from helpers import WAIT_SECONDS
from planning import example_plan, of_type
from tokens import CONFIG_MAP

from imaas.incluster import grafana_sync
from imaas.incluster.grafana_sync import DIGEST_KEY, Grafana, GrafanaError, reconcile

# The stores' reader passwords, as the job's pod has them from the Grafana client Secret
# (imaas/declarations/store_auth.py).
READER_PASSWORDS = {"IMAAS_LOKI_PASSWORD": "loki-reader-password", "IMAAS_TEMPO_PASSWORD": "tempo-reader-password"}


@pytest.fixture(autouse=True)
def reader_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in READER_PASSWORDS.items():
        monkeypatch.setenv(name, value)


def declared_states(stack: str = "dev") -> list[dict]:
    return [
        json.loads(r.inputs["data"]["org.json"])
        for r in of_type(example_plan(stack), CONFIG_MAP)
        if r.inputs["metadata"]["labels"].get("imaas.io/tenant-config") == "true"
    ]


def client(url: str, password: str = PASSWORD) -> Grafana:
    return Grafana(url, USER, password, timeout=WAIT_SECONDS)


@pytest.mark.slow
def test_a_first_run_creates_every_organisation_with_its_data_sources_and_dashboard() -> None:
    desired = declared_states()
    with fake_grafana() as (url, state):
        log = reconcile(client(url), desired).log
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
        assert reconcile(client(url), desired) == grafana_sync.Report()
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
        log = reconcile(client(url), changed).log
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
        assert reconcile(client(url), declared_states()) == grafana_sync.Report()
    assert [org.id for org in state.orgs.values() if org.name == "orders"] == [7]
    assert state.orgs[7].members[USER] == "Admin"
    assert set(state.orgs[7].datasources) == {"imaas-logs", "imaas-metrics", "imaas-traces"}


@pytest.mark.slow
def test_a_tenant_named_like_the_main_organisation_is_reported_and_the_others_applied() -> None:
    desired = [{"name": "Main Org.", "datasources": [], "dashboards": []}, *declared_states()]
    with fake_grafana() as (url, state):
        report = reconcile(client(url), desired)
    assert report.failures == ["organisation 'Main Org.': organisation Main Org. is the main organisation"]
    assert {org.name for org in state.orgs.values()} == {"Main Org.", "orders", "payments", "hr"}
    assert state.orgs[1].datasources == {}


@pytest.mark.slow
def test_a_malformed_state_or_a_refusal_stops_no_other_organisation() -> None:
    desired = [{"datasources": []}, *declared_states()]  # no name
    with fake_grafana(State(refused={"payments"})) as (url, state):
        report = reconcile(client(url), desired)
    assert report.failures == [
        "organisation None: 'name'",
        "organisation 'payments': POST /api/orgs: HTTP 500",
    ]
    assert {org.name for org in state.orgs.values()} == {"Main Org.", "orders", "hr"}


@pytest.mark.fast
def test_only_a_grafana_that_cannot_list_its_organisations_stops_the_run() -> None:
    with fake_grafana() as (url, _), pytest.raises(GrafanaError, match="HTTP 401"):
        reconcile(client(url, "wrong-password"), [])


@pytest.mark.slow
def test_sign_in_settings_are_written_once_and_without_the_client_secret() -> None:
    desired = {"enabled": True, "clientId": "grafana", "authUrl": "https://idp/a", "orgMapping": ["a:orders:Viewer"]}
    with fake_grafana() as (url, state):
        log: list[str] = []
        grafana_sync.sync_sso(client(url), desired, log)
        grafana_sync.sync_sso(client(url), desired, log)
    assert log == ["updated sign-in settings (generic_oauth): authUrl, clientId, enabled, orgMapping"]
    assert state.sso == desired
    assert [r for r in state.writes() if "sso" in r[1]] == [("PUT", "/api/v1/sso-settings/generic_oauth", None)]


@pytest.mark.slow
def test_a_data_source_whose_credential_is_missing_is_reported_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IMAAS_TEMPO_PASSWORD")
    with fake_grafana() as (url, state):
        report = reconcile(client(url), declared_states())
    assert report.failures == [
        f"organisation '{name}': data source imaas-traces: IMAAS_TEMPO_PASSWORD is not set"
        for name in ("hr", "orders", "payments")
    ]
    assert all("imaas-traces" not in org.datasources for org in state.orgs.values())


@pytest.mark.slow
def test_the_reader_passwords_may_be_given_instead_of_read_from_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in READER_PASSWORDS:
        monkeypatch.delenv(name)
    with fake_grafana() as (url, state):
        report = reconcile(client(url), declared_states(), environ=READER_PASSWORDS)
    assert report.failures == []
    traces = state.org_named("orders").datasources["imaas-traces"]
    assert traces["secureJsonData"]["basicAuthPassword"] == READER_PASSWORDS["IMAAS_TEMPO_PASSWORD"]
