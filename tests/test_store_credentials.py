"""The stores' credentials on the plan (imaas/declarations/store_auth.py): every store's write and read path is behind a
proxy that checks a credential, every client carries its own from a Secret, and no credential is in the plan JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from crd_schemas import validate_custom
from planning import example_plan, of_type, plan_stack
from test_observability import tenant_prometheus, values
from test_traces import collector_config
from tokens import CONFIG_MAP, SECRET

from imaas.declarations import store_auth
from imaas.declarations.store_auth import ALERTMANAGER_PROXY_PORT, LOOPBACK
from imaas.engine.run import ProgramError
from imaas.inputs.problems import InputError
from imaas.plan.record import SECRET_MARK, Plan

pytestmark = pytest.mark.slow

NAMESPACE = "observability"
PLACEHOLDER_KEY = "[secret]"
"""What the offline plan has of every secret setting (imaas/inputs/stack_file.py)."""


def secret_data(plan: Plan, name: str) -> Any:
    (secret,) = [r for r in of_type(plan, SECRET) if r.inputs["metadata"]["name"] == name]
    data = secret.inputs["stringData"]
    assert set(data) == {SECRET_MARK, "value"}, f"{name}: not marked secret"
    return data["value"]


def test_every_store_is_behind_a_proxy_that_checks_credentials(stack: str) -> None:
    plan = example_plan(stack)
    gateway = values(plan, "loki")["gateway"]
    assert gateway["basicAuth"] == {"enabled": True, "existingSecret": "imaas-loki-htpasswd"}
    assert gateway["nginxConfig"]["file"] == store_auth.nginx_config(store_auth.loki_proxy(NAMESPACE))
    assert values(plan, "loki")["loki"]["auth_enabled"] is True

    tempo = values(plan, "tempo")
    server = tempo["tempo"]["server"]
    assert (server["http_listen_address"], server["grpc_listen_address"]) == (LOOPBACK, LOOPBACK)
    assert tempo["tempo"]["ingester"]["lifecycler"]["address"] == LOOPBACK
    (proxy,) = tempo["extraContainers"]
    assert {port["containerPort"] for port in proxy["ports"]} == {3200, 4317}
    assert {volume["name"]: volume for volume in tempo["extraVolumes"]}["imaas-proxy-auth"]["secret"] == {
        "secretName": "imaas-tempo-htpasswd"
    }

    alertmanager = values(plan, "kube-prometheus-stack")["alertmanager"]
    assert alertmanager["alertmanagerSpec"]["listenLocal"] is True
    assert alertmanager["service"]["targetPort"] == ALERTMANAGER_PROXY_PORT
    (proxy,) = alertmanager["alertmanagerSpec"]["containers"]
    assert [port["containerPort"] for port in proxy["ports"]] == [ALERTMANAGER_PROXY_PORT]

    configs = {r.inputs["metadata"]["name"]: r.inputs["data"] for r in of_type(plan, CONFIG_MAP)}
    assert configs["imaas-tempo-proxy"]["nginx.conf"] == store_auth.nginx_config(store_auth.tempo_proxy())
    assert configs["imaas-alertmanager-proxy"]["nginx.conf"] == store_auth.nginx_config(store_auth.alertmanager_proxy())
    users = {"loki": {"fluent-bit", "grafana"}, "tempo": {"collector", "grafana"}}
    users["alertmanager"] = {"prometheus", "prometheus-tenants"}
    for store, expected in users.items():
        (entries,) = secret_data(plan, f"imaas-{store}-htpasswd").values()
        assert {line.split(":{SSHA}")[0] for line in entries.splitlines()} == expected


def test_loki_listens_on_its_pods_loopback_behind_its_sidecar(stack: str) -> None:
    """Loki refuses a request without a credential even from a pod that bypasses the gateway: Loki's HTTP and gRPC
    servers are on 127.0.0.1, its rings advertise 127.0.0.1, and the port the chart's Service and probes target
    (the Loki container's `http-metrics`, `loki.server.http_listen_port`, left at 3100) is the sidecar's."""
    plan = example_plan(stack)
    loki = values(plan, "loki")
    server = loki["loki"]["server"]
    assert (server["http_listen_address"], server["grpc_listen_address"]) == (LOOPBACK, LOOPBACK)
    assert "http_listen_port" not in server and "grpc_listen_port" not in server, "the chart's 3100 and 9095"
    assert loki["loki"]["structuredConfig"]["server"] == {"http_listen_port": store_auth.LOKI_LOOPBACK_PORT}
    common = loki["loki"]["commonConfig"]
    assert common["instance_addr"] == LOOPBACK
    assert common["ring"] == {"kvstore": {"store": "inmemory"}}
    assert common["compactor_grpc_address"] == f"{LOOPBACK}:{store_auth.LOKI_GRPC_PORT}"

    (proxy,) = loki["singleBinary"]["extraContainers"]
    assert [port["containerPort"] for port in proxy["ports"]] == [store_auth.LOKI_PORT] == [3100]
    assert proxy["readinessProbe"]["httpGet"]["path"] in store_auth.LOKI_PROBE_PATHS
    volumes = {volume["name"]: volume for volume in loki["singleBinary"]["extraVolumes"]}
    assert volumes["imaas-proxy-auth"]["secret"] == {"secretName": "imaas-loki-htpasswd"}
    assert volumes["imaas-proxy-config"]["configMap"] == {"name": "imaas-loki-proxy"}
    assert "tenant-limits" in volumes, "the runtime file's volume is kept beside the proxy's"
    configs = {r.inputs["metadata"]["name"]: r.inputs["data"] for r in of_type(plan, CONFIG_MAP)}
    sidecar = store_auth.loki_sidecar_proxy()
    assert configs["imaas-loki-proxy"]["nginx.conf"] == store_auth.nginx_config(sidecar)
    (listener,) = sidecar.listeners
    assert (listener.port, listener.upstream) == (3100, f"{LOOPBACK}:{store_auth.LOKI_LOOPBACK_PORT}")
    # The gateway's upstream is Loki's Service, which now leads to the sidecar, and it forwards the credential.
    (gateway,) = store_auth.loki_proxy(NAMESPACE).listeners
    assert gateway.upstream.endswith(f":{store_auth.LOKI_PORT}") and gateway.forward_credential


def test_every_client_carries_its_own_credential_from_its_own_secret(stack: str) -> None:
    plan = example_plan(stack)
    fluent_bit = values(plan, "fluent-bit")
    outputs = [section for section in fluent_bit["config"]["outputs"].split("[OUTPUT]") if "loki" in section]
    assert outputs and all("http_user fluent-bit" in o and "http_passwd ${IMAAS_LOKI_PASSWORD}" in o for o in outputs)
    assert fluent_bit["env"] == [
        {
            "name": "IMAAS_LOKI_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "imaas-credentials-fluent-bit", "key": "password"}},
        }
    ]
    collector = values(plan, "opentelemetry-collector")
    # The tenants' exporters are in the routes file the tenant-configuration job writes from its settings.
    exporters = list(collector_config(plan)["exporters"].values())
    assert exporters and all(e["headers"]["Authorization"] == "${env:IMAAS_TEMPO_AUTHORIZATION}" for e in exporters)
    assert collector["extraEnvs"][0]["name"] == "IMAAS_TEMPO_AUTHORIZATION"
    assert collector["extraEnvs"][0]["valueFrom"]["secretKeyRef"]["name"] == "imaas-credentials-collector"

    kps = values(plan, "kube-prometheus-stack")
    (endpoint,) = kps["prometheus"]["prometheusSpec"]["alertingEndpoints"]
    assert endpoint["basicAuth"]["password"] == {"name": "imaas-credentials-prometheus", "key": "password"}
    tenants = tenant_prometheus(plan).inputs
    (alertmanager,) = tenants["spec"]["alerting"]["alertmanagers"]
    assert alertmanager["basicAuth"]["username"] == {"name": "imaas-credentials-prometheus-tenants", "key": "username"}
    validate_custom(tenants)
    # The chart's alertingEndpoints become the chart's Prometheus's `alerting.alertmanagers`: the same CRD schema.
    validate_custom({**tenants, "spec": {"alerting": {"alertmanagers": [endpoint]}}})

    main_loki = [s for s in kps["grafana"]["additionalDataSources"] if s["type"] == "loki"]
    assert main_loki and all(
        (s["basicAuth"], s["basicAuthUser"], s["secureJsonData"]["basicAuthPassword"])
        == (True, "grafana", "$IMAAS_LOKI_PASSWORD")
        for s in main_loki
    )
    env = kps["grafana"]["envValueFrom"]
    assert env["IMAAS_LOKI_PASSWORD"]["secretKeyRef"] == {"name": "imaas-credentials-grafana", "key": "loki-password"}
    # The tenant-configuration job, which writes the organisations' data sources, has the same two from the Secret.
    (cron_job,) = of_type(plan, "kubernetes:batch/v1:CronJob")
    (container,) = cron_job.inputs["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    job_env = {e["name"]: e.get("valueFrom") for e in container["env"]}
    for name, key in (("IMAAS_LOKI_PASSWORD", "loki-password"), ("IMAAS_TEMPO_PASSWORD", "tempo-password")):
        assert job_env[name] == {"secretKeyRef": {"name": "imaas-credentials-grafana", "key": key}}
    for state in [r for r in of_type(plan, CONFIG_MAP) if "org.json" in r.inputs.get("data", {})]:
        for source in json.loads(state.inputs["data"]["org.json"])["datasources"]:
            if source["type"] in ("loki", "tempo"):
                assert source["basicAuthUser"] == "grafana"
                assert source["secureJsonData"]["basicAuthPassword"] == f"$IMAAS_{source['type'].upper()}_PASSWORD"


def test_no_credential_is_in_the_plan_json(stack: str, tmp_path: Path) -> None:
    plan = example_plan(stack)
    path = tmp_path / "plan.json"
    plan.write(path)
    text = path.read_text()
    derived = [store_auth.password(PLACEHOLDER_KEY, client) for client in store_auth.CLIENTS]
    derived.append(store_auth.basic_authorization(PLACEHOLDER_KEY, store_auth.TEMPO_WRITER).split()[1])
    derived += store_auth.htpasswd(PLACEHOLDER_KEY, store_auth.CLIENTS).split()
    assert not [value for value in derived if value in text]
    assert "{SSHA}" not in text
    # In memory the Secrets hold them, marked secret, so a real engine encrypts them in the state.
    fluent_bit = secret_data(plan, "imaas-credentials-fluent-bit")
    assert fluent_bit == {"password": store_auth.password(PLACEHOLDER_KEY, store_auth.LOKI_WRITER)}


def test_a_stack_with_observability_and_without_the_key_is_refused() -> None:
    with pytest.raises((InputError, ProgramError), match="observabilityCredentialKey"):
        plan_stack("dev", observabilityCredentialKey=None)
