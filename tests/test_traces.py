"""Traces per tenant on the plan of the fixture tenants: the collector decides each span's tenant from the namespace
of the pod that sent it, whatever the span claims, and writes it to that tenant's Tempo tenant only; Tempo keeps
each tenant within its size's limits; MI's tracing endpoint is the collector, on a port the tenant's network policy
opens; and the size presets bound logs and scrapes too."""

from __future__ import annotations

import copy
import json
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from helpers import TEMPLATE_DIR, write_tenants
from planning import PROJECT_DIR, example_plan, of_type, plan_stack
from test_observability import rules_of, tenant_namespaces, values
from tokens import POD_MONITOR

from imaas.declarations import charts, naming, tenant_config, traces
from imaas.declarations.store_limits import OBSERVABILITY_LIMITS
from imaas.declarations.telemetry import (
    COLLECTOR_POD_LABELS,
    OTLP_ENDPOINT_VARIABLE,
    TEMPO_TENANT_HEADER,
    Endpoints,
    otlp_endpoint,
)
from imaas.incluster import tenant_config as job
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan

COLLECTOR = "opentelemetry-collector"
TEMPLATE_TOML = TEMPLATE_DIR / "deployment" / "deployment.toml"
SIZES = {"orders": "medium", "hr": "small", "payments": "small"}


def job_settings(plan: Plan) -> dict[str, Any]:
    """The tenant-configuration job's settings, as the plan's ConfigMap holds them."""
    config_maps = [r.inputs for r in plan.resources if r.type == "kubernetes:core/v1:ConfigMap"]
    (code,) = [c for c in config_maps if c["metadata"]["name"] == "imaas-grafana-orgs"]
    return dict(json.loads(code["data"][tenant_config.SETTINGS_KEY]))


def tenant_configs(plan: Plan) -> list[job.TenantConfig]:
    """The tenants' configuration objects of the plan, as the in-cluster job reads and checks them."""
    config_maps = [r.inputs for r in plan.resources if r.type == "kubernetes:core/v1:ConfigMap"]
    settings = job_settings(plan)
    key, value = tenant_config.LABEL
    return [job.parse(c, settings) for c in config_maps if c["metadata"]["labels"].get(key) == value]


def collector_config(plan: Plan) -> dict[str, Any]:
    """The collector's configuration as it runs: the chart's `alternateConfig`, with the routes file the job writes
    from the job's settings merged over it (a second --config: maps merged key by key)."""
    settings = job_settings(plan)
    routes = job.collector_routes(
        tenant_configs(plan), settings["tempoOtlpEndpoint"], None, settings["tempoWriterHeaders"]
    )
    return charts.merged(values(plan, COLLECTOR)["alternateConfig"], routes)


def tenants_of(plan: Plan) -> dict[str, set[str]]:
    by_tenant: dict[str, set[str]] = {}
    for namespace in tenant_namespaces(plan):
        by_tenant.setdefault(namespace.rsplit("-", 1)[0], set()).add(namespace)
    return by_tenant


@pytest.mark.slow
def test_the_collector_config_is_whole_and_replaces_the_charts_default(stack: str) -> None:
    """The chart (0.170.0, templates/_config.tpl) uses `alternateConfig` as the whole configuration, merged with
    nothing of the chart's: it must hold the health check the chart's probes call; with the routes file (the one
    the job writes for the plan's tenants, or the one the platform creates, with no tenant) every component a
    pipeline names is there."""
    plan = example_plan(stack)
    chart_values = values(plan, COLLECTOR)
    assert "config" not in chart_values
    base = chart_values["alternateConfig"]
    assert base["extensions"]["health_check"] == {"endpoint": "${env:MY_POD_IP}:13133"}
    assert base["service"]["extensions"] == ["health_check"]
    # Every exporter is a tenant's, from the routes file.
    assert "exporters" not in base
    (initial,) = tenant_config.initial_outputs()[job.COLLECTOR_CONFIG_MAP].values()
    for config in (collector_config(plan), charts.merged(base, json.loads(initial))):
        pipelines = config["service"]["pipelines"]
        # Traces only: the chart's default logs and metrics pipelines, and its Jaeger, Zipkin, Prometheus receivers
        # and debug exporter, are not there.
        assert {name.split("/")[0] for name in pipelines} == {"traces"}
        assert set(config["receivers"]) == {"otlp"}
        assert "debug" not in config["exporters"]
        for pipeline in pipelines.values():
            for kind in ("receivers", "processors", "exporters"):
                for component in pipeline.get(kind, []):
                    assert component in config[kind] or component in config["connectors"], (kind, component)


# A model of the collector's ingest pipeline, over what the plan configures: enough of each processor and of the
# routing connector's conditions to follow one batch from the pod that sent it to the Tempo tenant it lands in.
CLAUSE = re.compile(r'^attributes\["([^"]+)"\] == "([^"]*)"$')


def processed(config: dict[str, Any], sent: dict[str, str], sender_namespace: str | None) -> dict[str, str]:
    """The resource attributes of a batch after the ingest pipeline's processors, for a sender found (or not) by
    the address it connected from."""
    attributes = dict(sent)
    for name in config["service"]["pipelines"][traces.INGEST_PIPELINE]["processors"]:
        processor = config["processors"].get(name)
        if name.startswith("resource/"):
            for action in processor["attributes"]:
                assert action["action"] == "delete"
                attributes = {k: v for k, v in attributes.items() if not re.match(action["pattern"], k)}
        elif name == "k8s_attributes":
            assert processor["pod_association"] == [{"sources": [{"from": "connection"}]}]
            # Like the real processor, it never overwrites what is already set (contrib#36373).
            if sender_namespace is not None:
                attributes.setdefault("k8s.namespace.name", sender_namespace)
    return attributes


def tempo_tenant(config: dict[str, Any], attributes: dict[str, str]) -> str | None:
    """The X-Scope-OrgID the batch is written with, or None when it is dropped."""
    router = config["connectors"][traces.ROUTER]
    assert "default_pipelines" not in router
    for route in router["table"]:
        assert route["context"] == "resource"
        clauses = [CLAUSE.match(clause) for clause in route["condition"].split(" or ")]
        assert all(clauses), route["condition"]
        if any(attributes.get(m.group(1)) == m.group(2) for m in clauses if m):
            (pipeline,) = route["pipelines"]
            (exporter,) = config["service"]["pipelines"][pipeline]["exporters"]
            return config["exporters"][exporter]["headers"][TEMPO_TENANT_HEADER]
    return None


# --- the collector ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_spans_land_in_the_tenant_of_the_sending_namespace_whatever_they_claim(stack: str) -> None:
    plan = example_plan(stack)
    config = collector_config(plan)
    owners = tenants_of(plan)
    for tenant, namespaces in owners.items():
        for namespace in namespaces:
            for victim, theirs in owners.items():
                claims = {
                    "k8s.namespace.name": sorted(theirs)[0],
                    "k8s.pod.ip": "10.0.0.9",
                    "imaas.tenant": victim,
                    "service.name": "anything",
                }
                assert tempo_tenant(config, processed(config, claims, namespace)) == tenant
    # A sender that is no tenant pod (not found, or of the platform) is dropped, even claiming a tenant namespace.
    claim = {"k8s.namespace.name": sorted(next(iter(owners.values())))[0]}
    assert tempo_tenant(config, processed(config, claim, None)) is None
    assert tempo_tenant(config, processed(config, claim, "kube-system")) is None


@pytest.mark.slow
def test_the_model_sees_a_collector_that_trusted_the_pod(stack: str) -> None:
    config = copy.deepcopy(collector_config(example_plan(stack)))
    config["service"]["pipelines"][traces.INGEST_PIPELINE]["processors"].remove("resource/untrusted")
    owners = tenants_of(example_plan(stack))
    tenant, other = sorted(owners)[:2]
    claims = {"k8s.namespace.name": sorted(owners[other])[0]}
    assert tempo_tenant(config, processed(config, claims, sorted(owners[tenant])[0])) == other


@pytest.mark.slow
def test_the_collector_forgets_what_pods_claim_before_it_looks_them_up(stack: str) -> None:
    config = collector_config(example_plan(stack))
    processors = config["service"]["pipelines"][traces.INGEST_PIPELINE]["processors"]
    assert processors.index("resource/untrusted") < processors.index("k8s_attributes") < processors.index("batch")
    deleted = [action["pattern"] for action in config["processors"]["resource/untrusted"]["attributes"]]
    for key in ("k8s.namespace.name", "k8s.pod.ip", "k8s.pod.uid", "imaas.tenant", "imaas.service"):
        assert any(re.match(pattern, key) for pattern in deleted), key
    extract = config["processors"]["k8s_attributes"]["extract"]
    assert "k8s.namespace.name" in extract["metadata"]
    assert {(label["key"], label["from"]) for label in extract["labels"]} == {
        (naming.TENANT_LABEL, "namespace"),
        (naming.ENVIRONMENT_LABEL, "namespace"),
        (naming.SERVICE_LABEL, "pod"),
    }


@pytest.mark.slow
def test_each_tenants_pipeline_writes_to_tempo_under_its_own_id_only(stack: str) -> None:
    plan = example_plan(stack)
    config = collector_config(plan)
    owners = tenants_of(plan)
    exporters = config["exporters"]
    assert set(exporters) == {traces.tenant_exporter(tenant) for tenant in owners}
    for tenant in owners:
        exporter = exporters[traces.tenant_exporter(tenant)]
        # The chart's Service port of Tempo's loopback receiver, sent to the proxy's 4317
        # (imaas/declarations/store_auth.py).
        assert exporter["endpoint"] == "tempo.observability.svc.cluster.local:14317"
        assert exporter["headers"] == {
            TEMPO_TENANT_HEADER: tenant,
            "Authorization": "${env:IMAAS_TEMPO_AUTHORIZATION}",
        }
    # What the chart would receive besides OTLP, and its other pipelines, are not configured.
    assert set(config["receivers"]) == {"otlp"}
    assert not {"logs", "metrics"} & set(config["service"]["pipelines"])


@pytest.mark.slow
def test_tenants_sharing_a_prefix_never_share_a_route(tmp_path: Path) -> None:
    plan = plan_stack("dev", write_tenants(tmp_path, shop={}, shop_web={}))
    config = collector_config(plan)
    for namespace in ("shop-dev", "shop-web-dev", "shop-web-test"):
        tenant = namespace.rsplit("-", 1)[0]
        assert tempo_tenant(config, processed(config, {}, namespace)) == tenant


@pytest.mark.slow
def test_the_collector_may_read_pods_and_namespaces_and_nothing_else(stack: str) -> None:
    collector = values(example_plan(stack), COLLECTOR)
    assert collector["clusterRole"] == {"create": True, "rules": traces.COLLECTOR_RULES}
    for rule in traces.COLLECTOR_RULES:
        assert set(rule["verbs"]) == {"get", "list", "watch"}
    assert {r for rule in traces.COLLECTOR_RULES for r in rule["resources"]} == {"pods", "namespaces", "replicasets"}
    assert (collector["mode"], collector["image"]["tag"]) == ("deployment", traces.COLLECTOR_IMAGE_TAG)
    assert not [name for name, port in collector["ports"].items() if port.get("enabled") is not False]


# --- Tempo -----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_tempo_is_multi_tenant_with_every_tenants_limits_of_its_size(stack: str) -> None:
    plan = example_plan(stack)
    tempo = values(plan, "tempo")["tempo"]
    assert tempo["multitenancyEnabled"] is True
    # The chart's Service template reads each of its default receivers: every one stays, on the loopback interface.
    endpoints = [
        protocol["endpoint"] for receiver in tempo["receivers"].values() for protocol in receiver["protocols"].values()
    ]
    assert len(endpoints) == 6
    assert all(endpoint.startswith("127.0.0.1:") for endpoint in endpoints)
    defaults = tempo["overrides"]["defaults"]
    assert "per_tenant_overrides" not in tempo  # in the job's file, which Tempo reads as its per-tenant overrides
    assert tempo["overrides"]["per_tenant_override_config"] == "/etc/imaas/tempo/overrides.yaml"
    overrides = job.tempo_overrides(tenant_configs(plan))["overrides"]
    assert set(overrides) == set(tenants_of(plan))
    for tenant, override in overrides.items():
        limits = OBSERVABILITY_LIMITS[SIZES[tenant]]
        # A per-tenant block replaces the defaults whole: every field is there (grafana/tempo#4996).
        assert {k: set(v) for k, v in override.items()} == {k: set(v) for k, v in defaults.items()}
        assert override["ingestion"]["rate_limit_bytes"] == int(limits.trace_rate_mb * 1_000_000)
        assert override["ingestion"]["max_traces_per_user"] == limits.max_live_traces
        assert override["compaction"]["block_retention"] == f"{limits.trace_retention_days * 24}h"
    # The longest any size keeps traces, whichever tenants exist.
    assert tempo["retention"] == f"{max(v.trace_retention_days for v in OBSERVABILITY_LIMITS.values()) * 24}h"
    assert values(plan, "tempo")["persistence"]["enabled"] is True
    assert "storage" not in tempo  # the chart's local volume


@pytest.mark.slow
def test_a_bucket_makes_trace_storage_durable() -> None:
    bucket = {"name": "imaas-traces-prod", "region": "eu-west-1", "roleArn": "arn:aws:iam::123456789012:role/tempo"}
    tempo = values(plan_stack("prod", observability={"tempo": {"bucket": bucket}}), "tempo")
    assert tempo["tempo"]["storage"]["trace"] == {
        "backend": "s3",
        "s3": {"bucket": "imaas-traces-prod", "region": "eu-west-1", "endpoint": "s3.eu-west-1.amazonaws.com"},
    }
    assert tempo["serviceAccount"] == {"annotations": {"eks.amazonaws.com/role-arn": bucket["roleArn"]}}
    with pytest.raises(InputError, match=re.escape("observability.tempo.bucket.region: is required")):
        plan_stack(
            "prod", observability={"tempo": {"bucket": {"name": "imaas-traces-prod", "roleArn": bucket["roleArn"]}}}
        )


@pytest.mark.fast
def test_the_trace_endpoints_of_the_contract() -> None:
    endpoints = Endpoints("observability")
    assert endpoints.tempo_query == "http://tempo.observability.svc.cluster.local:3200"
    assert endpoints.otlp_grpc == "http://opentelemetry-collector.observability.svc.cluster.local:4317"
    assert endpoints.otlp_http == "http://opentelemetry-collector.observability.svc.cluster.local:4318"
    assert TEMPO_TENANT_HEADER == "X-Scope-OrgID"


# --- MI's tracing endpoint -------------------------------------------------------------------------------------------


def opentelemetry_section() -> dict[str, Any]:
    return tomllib.loads(TEMPLATE_TOML.read_text())["opentelemetry"]


def unreachable(url: str, plan: Plan, namespace: str, namespace_of_stack: str) -> list[str]:
    """Why MI could not send to `url` from `namespace`: the host must be the collector's Service in the stack's
    namespace (the chart names it after its release), the port one the namespace's policy opens to the collector's
    pods."""
    parts = urlsplit(url)
    problems = []
    if parts.hostname != Endpoints(namespace_of_stack).collector_host:
        problems.append(f"host {parts.hostname} is not the collector's Service")
    allowed = {
        port["port"]
        for rule in rules_of(plan, namespace)["egress"]
        for peer in rule["to"]
        if peer.get("podSelector", {}).get("matchLabels") == COLLECTOR_POD_LABELS
        and peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
        == namespace_of_stack
        for port in rule.get("ports", [])
    }
    if parts.port not in allowed:
        problems.append(f"port {parts.port} is not open to the collector (open: {sorted(allowed)})")
    return problems


@pytest.mark.slow
def test_mi_sends_its_traces_to_the_collector_on_a_port_its_namespace_may_reach(stack: str) -> None:
    section = opentelemetry_section()
    assert (section["enable"], section["type"]) == (True, "otlp")
    # MI's OTLPTelemetryManager exports over gRPC unless told otherwise, and needs one header property.
    assert section.get("protocol", "grpc") == "grpc"
    assert section["properties"]
    variable = re.fullmatch(r"\$env\{([A-Z_]+)\}", section["url"])
    assert variable and variable.group(1) == OTLP_ENDPOINT_VARIABLE
    settings = read_stack_file(PROJECT_DIR, stack).settings
    plan = example_plan(stack)
    applications = of_type(plan, "kubernetes:argoproj.io/v1alpha1:Application")
    assert applications
    for application in applications:
        # What the service's container gets: the variable its Application patches onto the Deployment.
        namespace = application.inputs["spec"]["destination"]["namespace"]
        patches = [yaml.safe_load(p["patch"]) for p in application.inputs["spec"]["source"]["kustomize"]["patches"]]
        (container,) = [
            c for p in patches if p["kind"] == "Deployment" for c in p["spec"]["template"]["spec"]["containers"]
        ]
        url = {v["name"]: v.get("value") for v in container["env"]}[OTLP_ENDPOINT_VARIABLE]
        assert unreachable(url, plan, namespace, settings.observability.namespace) == [], namespace


@pytest.mark.slow
def test_an_endpoint_the_policy_does_not_open_is_reported() -> None:
    plan, namespace = example_plan("prod"), "orders-prod"
    assert unreachable(
        "http://opentelemetry-collector.observability.svc.cluster.local:4319", plan, namespace, "observability"
    )
    assert unreachable("http://tempo.observability.svc.cluster.local:4317", plan, namespace, "observability")
    settings = read_stack_file(PROJECT_DIR, "prod").settings
    assert otlp_endpoint(settings, "dev") is None  # not an environment of this stack's cluster


# --- limits by size ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_loki_keeps_each_tenant_within_its_sizes_limits(stack: str) -> None:
    plan = example_plan(stack)
    loki = values(plan, "loki")["loki"]
    assert "runtimeConfig" not in loki  # in the job's file, which Loki reads as its runtime configuration
    assert loki["structuredConfig"]["runtime_config"]["file"] == "/etc/imaas/loki/runtime-config.yaml"
    overrides = job.loki_runtime_config(tenant_configs(plan))["overrides"]
    assert set(overrides) == set(tenants_of(plan))
    for tenant, override in overrides.items():
        limits = OBSERVABILITY_LIMITS[SIZES[tenant]]
        assert override == {
            "ingestion_rate_mb": limits.log_rate_mb,
            "ingestion_burst_size_mb": limits.log_burst_mb,
            "retention_period": f"{limits.log_retention_days * 24}h",
        }
    assert loki["limits_config"]["retention_period"] == f"{OBSERVABILITY_LIMITS['small'].log_retention_days * 24}h"
    assert loki["compactor"]["retention_enabled"] is True


@pytest.mark.slow
def test_each_namespaces_pod_monitor_takes_its_sizes_samples(stack: str) -> None:
    for monitor in of_type(example_plan(stack), POD_MONITOR):
        tenant = monitor.inputs["metadata"]["labels"][naming.TENANT_LABEL]
        assert monitor.inputs["spec"]["sampleLimit"] == OBSERVABILITY_LIMITS[SIZES[tenant]].scrape_samples
        assert monitor.inputs["spec"]["podTargetLabels"] == [naming.SERVICE_LABEL]
