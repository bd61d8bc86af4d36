"""The observability namespace's fence: the table (imaas/declarations/fence.py) and its NetworkPolicies on the plan,
checked with network-config-analyzer on the plan's own policies and pods built from the charts' recorded labels: every
pod is denied what the table does not allow, and each allowance is exactly the table's."""

from __future__ import annotations

import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from linters import nca, nca_namespaces, nca_policies
from planning import PROJECT_DIR, example_plan, of_type, plan_stack
from tokens import NETWORK_POLICY, RELEASE

from imaas.declarations import charts, fence, grafana
from imaas.model.settings import ObservabilitySettings
from imaas.plan.record import Plan

OBSERVABILITY = "observability"
CHART_DATA = PROJECT_DIR / "tests" / "data" / "charts"
# Pods that stand for what is not a pod group of the namespace.
DNS_POD = "kube-system/coredns"
INGRESS_POD = "ingress-nginx/controller"
STRAY_POD = f"{OBSERVABILITY}/stray"
TENANT_METRICS_PORT = 9201
# Container ports the analyser needs to resolve named ports.
NAMED_PORTS = {"tenant-prometheus": [("web", 9090)], "prometheus": [("web", 9090)]}


# --- the table, without a plan -----------------------------------------------------------------------------------


@pytest.mark.fast
def test_every_allowance_names_known_parties_and_every_group_is_used() -> None:
    known = {*fence.GROUP, *fence.PARTY, fence.EVERY_POD}
    for allowance in fence.ALLOWANCES:
        assert {allowance.source, allowance.target} <= known, allowance
        assert allowance.source in fence.GROUP or allowance.target in fence.GROUP or allowance.source == "*"
    used = {a.source for a in fence.ALLOWANCES} | {a.target for a in fence.ALLOWANCES}
    assert set(fence.GROUP) <= used


@pytest.mark.fast
def test_chart_labels_are_recorded_from_the_pinned_or_recorded_chart_versions() -> None:
    """Each label set names the chart version it was read from: the pinned one, or the nearest the chart key data
    was also taken from (tests/data/charts/README.md)."""
    pinned = {chart.name: chart.version for chart in charts.CHARTS}
    for group in fence.GROUPS:
        match = re.match(r"^([a-z-]+) ([0-9.]+)", group.source)
        if match is None:
            assert group.source.startswith("the platform's"), group
            continue
        chart, version = match.groups()
        recorded = json.loads((CHART_DATA / f"{chart}.json").read_text())["version"]
        assert version in (pinned[chart], recorded), group


@pytest.mark.fast
def test_the_default_deny_selects_every_pod_and_allows_nothing() -> None:
    inputs = fence.fence_inputs(ObservabilitySettings(), ["10.0.0.0/8"])
    specs = fence.policy_specs(inputs)
    assert specs[fence.DEFAULT_DENY_POLICY] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # Egress is opened to the world outside the cluster only where a setting needs it.
    outside = [a for a in fence.active_allowances(inputs) if a.target in ("mail-relay", "identity-provider")]
    assert outside == []


# --- the plan ----------------------------------------------------------------------------------------------------


def observability_policies(plan: Plan) -> dict[str, dict[str, Any]]:
    return {
        r.inputs["metadata"]["name"]: r.inputs["spec"]
        for r in of_type(plan, NETWORK_POLICY)
        if r.inputs["metadata"]["namespace"] == OBSERVABILITY
    }


@pytest.mark.slow
def test_the_plan_declares_the_tables_policies(stack: str) -> None:
    plan = example_plan(stack)
    declared = observability_policies(plan)
    # The dev cluster runs the promotion gate (Pulumi.dev.yaml's imaas:promotion), which calls GitHub.
    cidrs = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
    inputs = fence.fence_inputs(ObservabilitySettings(), cidrs, promotion_gate=stack == "dev")
    for name, spec in fence.policy_specs(inputs).items():
        assert declared[name] == spec
    # Only the fence and the two older ingress fences of the metrics proxy and the tenants' Prometheus (which the
    # table repeats) select pods there.
    assert set(declared) - set(fence.policy_specs(inputs)) == {grafana.METRICS_PROXY, grafana.TENANT_PROMETHEUS_POLICY}


@pytest.mark.slow
def test_grafana_makes_no_request_a_tenant_shapes(stack: str) -> None:
    (release,) = [r for r in of_type(example_plan(stack), RELEASE) if r.name == "kube-prometheus-stack"]
    values = release.inputs["values"]["grafana"]
    ini = values["grafana.ini"]
    assert ini["unified_alerting"] == {"enabled": False}
    assert ini["plugins"]["plugin_admin_enabled"] is False
    assert ini["snapshots"]["external_enabled"] is False
    assert ini["public_dashboards"]["enabled"] is False
    assert ini["users"]["allow_org_create"] is False
    assert values["sidecar"]["datasources"]["alertmanager"]["enabled"] is False
    hosts = ini["security"]["data_source_proxy_whitelist"].split(" ")
    assert all(host.endswith(f".{OBSERVABILITY}.svc.cluster.local") or ":" in host for host in hosts)
    assert not [host for host in hosts if "alertmanager" in host or "loki." in host]


# --- network-config-analyzer -------------------------------------------------------------------------------------


def _pod(key: str, labels: dict[str, str], ports: list[tuple[str, int]]) -> dict[str, Any]:
    namespace, name = key.split("/")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": "example",
                    "ports": [{"name": n, "containerPort": p, "protocol": "TCP"} for n, p in ports],
                }
            ]
        },
    }


def cluster(plan: Plan, directory: Path) -> dict[str, list[str]]:
    """The plan's NetworkPolicies and Namespaces, and one pod per group (labels as recorded), per tenant namespace,
    for DNS, the ingress controller and a stray pod of the namespace, written for the analyser. Returns the pods
    that stand for each party."""
    namespaces = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels", {})
        for r in of_type(plan, "kubernetes:core/v1:Namespace")
    }
    namespaces |= {"kube-system": {}, "ingress-nginx": {}}
    tenant_pods = [f"{name}/service" for name, labels in namespaces.items() if "imaas.io/tenant" in labels]
    pods = [_pod(f"{OBSERVABILITY}/{g.key}", g.labels, NAMED_PORTS.get(g.key, [])) for g in fence.GROUPS]
    pods += [
        _pod(DNS_POD, {"k8s-app": "kube-dns"}, []),
        _pod(INGRESS_POD, {"app.kubernetes.io/name": "ingress-nginx"}, []),
        _pod(STRAY_POD, {"app": "anything-else"}, []),
        *(_pod(key, {"app": "service"}, [("metrics", TENANT_METRICS_PORT)]) for key in tenant_pods),
    ]
    items = nca_namespaces(namespaces)
    policies = nca_policies(of_type(plan, NETWORK_POLICY))
    (directory / "namespaces.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "NamespaceList", "items": items})
    )
    (directory / "pods.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "PodList", "items": pods}))
    (directory / "policies.yaml").write_text(yaml.safe_dump_all(policies))
    return {"tenant-namespaces": tenant_pods, "dns": [DNS_POD], "ingress-controller": [INGRESS_POD]}


Connections = dict[tuple[str, str], set[tuple[str, int]]]
ALL = {("ALL", 0)}


def _ports(text: str) -> set[tuple[str, int]]:
    if text == "All connections":
        return set(ALL)
    found: set[tuple[str, int]] = set()
    for part in re.findall(r"\{([^}]*)\}", text):
        protocols = re.search(r"protocols:([A-Z, ]+?)(,dst_ports|$)", part)
        ports = re.search(r"dst_ports:([0-9,-]+)", part)
        assert protocols and ports, text
        for protocol in (p.strip() for p in protocols.group(1).split(",")):
            for span in ports.group(1).split(","):
                low, _, high = span.partition("-")
                found |= {(protocol, port) for port in range(int(low), int(high or low) + 1)}
    return found


def _endpoint(text: str) -> str:
    return re.sub(r"\[[A-Za-z]+\]$", "", text.strip())


def analysed(directory: Path) -> Connections:
    result = nca(
        "--connectivity", "policies.yaml", "-n", "namespaces.yaml", "-p", "pods.yaml", "-o", "txt_no_fw_rules",
        cwd=directory,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    connections: Connections = {}
    for line in result.stdout.splitlines():
        match = re.match(r"^(\S+) => (\S+) : (.*)$", line)
        if match:
            source, target, text = match.groups()
            connections[(_endpoint(source), _endpoint(target))] = _ports(text)
    assert connections, result.stdout
    return connections


def _ranges(cidrs: list[str]) -> list[str]:
    """The analyser's notation for address ranges: first-last."""
    spans = []
    for cidr in cidrs:
        network = ipaddress.ip_network(cidr)
        spans.append(f"{network[0]}-{network[-1]}")
    return spans


def expected(parties: dict[str, list[str]], settings: ObservabilitySettings) -> Connections:
    """What the table allows, between the analyser's endpoints, computed from the table alone."""
    inputs = fence.fence_inputs(settings, ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"], promotion_gate=True)
    where = {key: [f"{OBSERVABILITY}/{key}"] for key in fence.GROUP} | parties
    where["api-server"] = _ranges(settings.network.api_server_cidrs)
    where["nodes"] = _ranges(settings.network.node_cidrs)
    # Outside the cluster, as the analyser reports an ipBlock of everything but `clusterCidrs` and the node-local
    # ranges: its address ranges hold no analysed pod, so only the link-local range stays apart.
    where["github"] = ["0.0.0.0-169.253.255.255", "169.255.0.0-255.255.255.255"]
    result: Connections = {}
    for allowance in fence.active_allowances(inputs):
        sources = (
            [f"{OBSERVABILITY}/{g}" for g in [*fence.GROUP, "stray"]]
            if allowance.source == "*"
            else where[allowance.source]
        )
        ports = allowance.ports or tuple(("TCP", port) for port in settings.network.api_server_ports)
        resolved = {(p, TENANT_METRICS_PORT if port == "metrics" else int(port)) for p, port in ports}
        for source in sources:
            for target in where[allowance.target]:
                if source != target:  # a pod reaching itself is no connection to the analyser
                    result.setdefault((source, target), set()).update(resolved)
    return result


def _touches_the_namespace(pair: tuple[str, str]) -> bool:
    return any(end.startswith(f"{OBSERVABILITY}/") for end in pair)


@pytest.fixture(scope="module")
def connectivity(tmp_path_factory: pytest.TempPathFactory) -> tuple[Connections, Connections]:
    directory = tmp_path_factory.mktemp("nca")
    parties = cluster(example_plan("dev"), directory)
    found = {pair: ports for pair, ports in analysed(directory).items() if _touches_the_namespace(pair)}
    wanted = expected(parties, ObservabilitySettings())
    # The gate reaches the API server (its ranges, here private ones) and GitHub (everything outside the cluster)
    # on 443 alike: the analyser reports the one merged range, which holds the API server's.
    outside = {pair[1] for pair in wanted if pair[0] == f"{OBSERVABILITY}/promotion-gate" and pair[1][0].isdigit()}
    for span in _ranges(ObservabilitySettings().network.api_server_cidrs):
        if {"0.0.0.0-169.253.255.255"} <= outside and span.startswith(("10.", "172.", "192.")):
            wanted.pop((f"{OBSERVABILITY}/promotion-gate", span), None)
    return found, wanted


def _merge_ranges(connections: Connections) -> Connections:
    """The analyser splits address space where policies' ranges meet; ranges of the table are whole CIDRs here."""
    return connections


@pytest.mark.slow
def test_each_allowance_is_exactly_the_tables(connectivity: tuple[Connections, Connections]) -> None:
    found, wanted = connectivity
    extra = {pair: ports - wanted.get(pair, set()) for pair, ports in found.items() if ports - wanted.get(pair, set())}
    missing = {pair: ports - found.get(pair, set()) for pair, ports in wanted.items() if ports - found.get(pair, set())}
    assert extra == {}, "allowed beyond the table"
    assert missing == {}, "in the table but not allowed"


@pytest.mark.slow
def test_a_pod_no_allowance_names_reaches_only_dns(connectivity: tuple[Connections, Connections]) -> None:
    found, _ = connectivity
    assert {pair: ports for pair, ports in found.items() if STRAY_POD in pair} == {
        (STRAY_POD, DNS_POD): {("TCP", 53), ("UDP", 53)}
    }


@pytest.mark.slow
def test_tenants_reach_only_the_collectors_otlp_ports(connectivity: tuple[Connections, Connections]) -> None:
    found, _ = connectivity
    from_tenants = {
        target: ports
        for (source, target), ports in found.items()
        if source.endswith("/service") and target.startswith(OBSERVABILITY)
    }  # fmt: skip
    assert from_tenants and set(from_tenants) == {f"{OBSERVABILITY}/collector"}
    assert all(ports == {("TCP", 4317), ("TCP", 4318)} for ports in from_tenants.values())


@pytest.mark.slow
def test_grafana_reaches_only_the_read_paths(connectivity: tuple[Connections, Connections]) -> None:
    found, _ = connectivity
    grafana_targets = {target for (source, target) in found if source == f"{OBSERVABILITY}/grafana"}
    reads = {"loki-gateway", "tempo", "metrics-proxy", "tenant-prometheus", "prometheus"}
    assert grafana_targets - {DNS_POD, *_ranges(ObservabilitySettings().network.api_server_cidrs)} == {
        f"{OBSERVABILITY}/{key}" for key in reads
    }
    for store in ("loki", "alertmanager", "collector", "fluent-bit"):
        assert (f"{OBSERVABILITY}/grafana", f"{OBSERVABILITY}/{store}") not in found


@pytest.mark.slow
def test_writes_reach_the_stores_only_from_the_pipeline(connectivity: tuple[Connections, Connections]) -> None:
    found, _ = connectivity

    def sources(target: str) -> set[str]:
        return {source for (source, end) in found if end == f"{OBSERVABILITY}/{target}"}

    assert sources("loki") == {f"{OBSERVABILITY}/loki-gateway"}
    assert sources("loki-gateway") == {f"{OBSERVABILITY}/fluent-bit", f"{OBSERVABILITY}/grafana"}
    assert sources("tempo") == {f"{OBSERVABILITY}/collector", f"{OBSERVABILITY}/grafana"}
    assert found[(f"{OBSERVABILITY}/collector", f"{OBSERVABILITY}/tempo")] == {("TCP", 4317)}
    assert found[(f"{OBSERVABILITY}/grafana", f"{OBSERVABILITY}/tempo")] == {("TCP", 3200)}
    assert sources("alertmanager") == {f"{OBSERVABILITY}/prometheus", f"{OBSERVABILITY}/tenant-prometheus"}
    assert found[(f"{OBSERVABILITY}/prometheus", f"{OBSERVABILITY}/alertmanager")] == {("TCP", 9095)}
    assert found[(f"{OBSERVABILITY}/tenant-prometheus", f"{OBSERVABILITY}/alertmanager")] == {("TCP", 9095)}


@pytest.mark.slow
def test_the_tenants_prometheus_reaches_tenants_only_on_their_metrics_port(
    connectivity: tuple[Connections, Connections],
) -> None:
    found, _ = connectivity
    reached = {
        target: ports
        for (source, target), ports in found.items()
        if source == f"{OBSERVABILITY}/tenant-prometheus" and not target.startswith(OBSERVABILITY)
        and target != DNS_POD and "/" in target
    }  # fmt: skip
    assert reached and all(ports == {("TCP", TENANT_METRICS_PORT)} for ports in reached.values())
    # No other pod of the namespace reaches a tenant pod.
    others = {
        (s, t) for (s, t) in found
        if s.startswith(f"{OBSERVABILITY}/") and t in reached and s != f"{OBSERVABILITY}/tenant-prometheus"
    }  # fmt: skip
    assert others == set()


@pytest.mark.slow
def test_egress_outside_the_cluster_opens_only_with_its_setting() -> None:
    oidc = {
        "clientId": "grafana",
        "authUrl": "https://idp.example.com/authorize",
        "tokenUrl": "https://idp.example.com/token",
        "apiUrl": "https://idp.example.com/userinfo",
    }
    plan = plan_stack(
        "dev",
        observability={
            "grafana": {"oidc": oidc},
            "alerting": {"smarthost": "smtp.example.com:587", "from": "a@example.com"},
        },
        grafanaOidcClientSecret="[secret]",
        platformIdentities=["system:serviceaccount:ci:deployer"],
    )
    policies = observability_policies(plan)
    (to_idp,) = [
        rule for rule in policies["imaas-fence-grafana"]["egress"] if "except" in rule["to"][0].get("ipBlock", {})
    ]
    assert to_idp["ports"] == [{"protocol": "TCP", "port": 443}]
    assert "10.0.0.0/8" in to_idp["to"][0]["ipBlock"]["except"]
    (to_relay,) = policies["imaas-fence-alertmanager"]["egress"]
    assert to_relay["ports"] == [{"protocol": "TCP", "port": 587}]
    assert "169.254.0.0/16" in to_relay["to"][0]["ipBlock"]["except"]
