"""The observability namespace's fence, as data: every pod there is denied all traffic in and out, and each
allowance below opens exactly one path, from one party to another on named ports. The components declare one
NetworkPolicy per pod group from this table, docs/isolation.md shows it (written by `make docs`), and the tests check
the policies with network-config-analyzer against it.

A pod group is selected by the labels its chart gives its pods, recorded with the chart version and template they
were read from: a chart bump that renames a label would leave the pods outside every allowance, which the default
deny then blocks (closed, not open), and the tests compare these versions with the pinned ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imaas.declarations import grafana, isolation, naming, promotion
from imaas.declarations.charts import FLUENT_BIT, KUBE_PROMETHEUS_STACK, LOKI, OPENTELEMETRY_COLLECTOR, TEMPO
from imaas.declarations.store_auth import ALERTMANAGER_PROXY_PORT
from imaas.model.settings import ObservabilitySettings

DEFAULT_DENY_POLICY = "imaas-default-deny"
DNS_POLICY = "imaas-fence-dns"
POLICY_PREFIX = "imaas-fence-"
TCP, UDP = "TCP", "UDP"


@dataclass(frozen=True)
class PodGroup:
    """Pods of the observability namespace that a policy selects, by the labels their chart gives them."""

    key: str
    labels: dict[str, str]
    source: str
    """Chart and version (or the platform's own object) the labels were read from, and where."""


_KPS = f"{KUBE_PROMETHEUS_STACK.name} 86.3.2"
_OPERATOR = "prometheus-operator v0.91.0"
GROUPS: tuple[PodGroup, ...] = (
    PodGroup(
        "grafana",
        grafana.GRAFANA_POD_LABELS,
        f"{_KPS}, subchart grafana 12.4.8: charts/grafana/templates/_helpers.tpl `grafana.selectorLabels`",
    ),
    PodGroup(
        "prometheus",
        {
            "app.kubernetes.io/name": "prometheus",
            "operator.prometheus.io/name": f"{KUBE_PROMETHEUS_STACK.release}-prometheus",
        },
        f"{_KPS} (`kube-prometheus-stack.prometheus.crname`), pods labelled by {_OPERATOR}: "
        "pkg/prometheus/server/operator.go `makeSelectorLabels`",
    ),
    PodGroup(
        "tenant-prometheus",
        grafana.TENANT_PROMETHEUS_POD_LABELS,
        f"the platform's Prometheus `tenants` (imaas/declarations/prometheus.py), pods labelled by {_OPERATOR}",
    ),
    PodGroup(
        "alertmanager",
        {"app.kubernetes.io/name": "alertmanager", "alertmanager": f"{KUBE_PROMETHEUS_STACK.release}-alertmanager"},
        f"{_KPS} (`kube-prometheus-stack.alertmanager.crname`), pods labelled by {_OPERATOR}: "
        "pkg/alertmanager/operator.go `makeSelectorLabels`",
    ),
    PodGroup(
        "operator",
        {"app": f"{KUBE_PROMETHEUS_STACK.name}-operator", "release": KUBE_PROMETHEUS_STACK.release},
        f"{_KPS}: templates/prometheus-operator/deployment.yaml (selector)",
    ),
    PodGroup(
        "kube-state-metrics",
        {"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": KUBE_PROMETHEUS_STACK.release},
        f"{_KPS}, subchart kube-state-metrics 7.5.1: templates/_helpers.tpl `kube-state-metrics.selectorLabels`",
    ),
    PodGroup(
        "loki-gateway",
        {
            "app.kubernetes.io/name": LOKI.name,
            "app.kubernetes.io/instance": LOKI.release,
            "app.kubernetes.io/component": "gateway",
        },
        "loki 18.11.0 (nearest stored to the pinned 18.13.5): templates/gateway/_helpers.tpl "
        "`loki.gatewaySelectorLabels`",
    ),
    PodGroup(
        "loki",
        {
            "app.kubernetes.io/name": LOKI.name,
            "app.kubernetes.io/instance": LOKI.release,
            "app.kubernetes.io/component": "single-binary",
        },
        "loki 18.11.0: templates/_workload.tpl (selector: `loki.selectorLabels` and the target `single-binary`)",
    ),
    PodGroup(
        "fluent-bit",
        {"app.kubernetes.io/name": FLUENT_BIT.name, "app.kubernetes.io/instance": FLUENT_BIT.release},
        "fluent-bit 0.58.1 (nearest stored to the pinned 0.58.2): templates/_helpers.tpl `fluent-bit.selectorLabels`",
    ),
    PodGroup(
        "collector",
        {
            "app.kubernetes.io/name": OPENTELEMETRY_COLLECTOR.name,
            "app.kubernetes.io/instance": OPENTELEMETRY_COLLECTOR.release,
            "component": "standalone-collector",
        },
        "opentelemetry-collector 0.170.0: templates/_helpers.tpl `opentelemetry-collector.selectorLabels` and "
        "`opentelemetry-collector.component` (mode deployment)",
    ),
    PodGroup(
        "tempo",
        {"app.kubernetes.io/name": TEMPO.name, "app.kubernetes.io/instance": TEMPO.release},
        "tempo 2.2.4: templates/_helpers.tpl `tempo.selectorLabels`",
    ),
    PodGroup(
        "metrics-proxy",
        grafana.METRICS_PROXY_POD_LABELS,
        "the platform's metrics proxy (imaas/declarations/grafana.py)",
    ),
    PodGroup(
        "grafana-job",
        grafana.RECONCILER_POD_LABELS,
        "the platform's tenant-configuration job (imaas/declarations/tenant_config.py)",
    ),
    PodGroup(
        "promotion-gate",
        promotion.GATE_POD_LABELS,
        "the platform's promotion gate (imaas/declarations/promotion.py)",
    ),
)
GROUP = {group.key: group for group in GROUPS}


@dataclass(frozen=True)
class Party:
    """Something outside the namespace's pods that an allowance names."""

    key: str
    description: str


PARTIES: tuple[Party, ...] = (
    Party("dns", f"cluster DNS (`{isolation.DNS_NAMESPACE}` pods `k8s-app=kube-dns`)"),
    Party("api-server", "the Kubernetes API server (`network.apiServerCidrs`)"),
    Party("nodes", "the nodes: kubelets and node exporters (`network.nodeCidrs`)"),
    Party("tenant-namespaces", f"pods of every tenant namespace (labelled `{naming.TENANT_LABEL}`)"),
    Party("ingress-controller", "the ingress controller's namespace (`network.ingressNamespace`)"),
    Party("mail-relay", "the mail relay: addresses outside `clusterCidrs` and the node-local ranges"),
    Party("identity-provider", "the identity provider: addresses outside `clusterCidrs` and the node-local ranges"),
    Party("object-store", "S3: addresses outside `clusterCidrs` and the node-local ranges"),
    Party("github", "GitHub's API: addresses outside `clusterCidrs` and the node-local ranges"),
)
PARTY = {party.key: party for party in PARTIES}
EVERY_POD = "*"


@dataclass(frozen=True)
class Allowance:
    source: str
    target: str
    ports: tuple[tuple[str, int | str], ...]
    why: str
    when: str | None = None
    """The setting without which the allowance does not exist: `alerting`, `oidc`, `s3` or `promotion`."""
    kind: str = "run"
    """`run`: what the stack needs to run; `data`: a path of tenants' data."""
    unenforced: str = ""
    """For a path of tenants' data: what holds where NetworkPolicies are not enforced
    (imaas/declarations/store_auth.py)."""


def _tcp(*ports: int | str) -> tuple[tuple[str, int | str], ...]:
    return tuple((TCP, port) for port in ports)


API = "api-server"
ALLOWANCES: tuple[Allowance, ...] = (
    Allowance(EVERY_POD, "dns", ((UDP, 53), (TCP, 53)), "name resolution"),
    Allowance("fluent-bit", API, (), "Fluent Bit's Kubernetes filter reads pods and namespaces"),
    Allowance("collector", API, (), "the collector's k8s_attributes reads pods, namespaces and replica sets"),
    Allowance("prometheus", API, (), "service discovery; the API server's own metrics"),
    Allowance("tenant-prometheus", API, (), "service discovery in tenant namespaces"),
    Allowance("operator", API, (), "the Prometheus Operator's controllers"),
    Allowance("kube-state-metrics", API, (), "kube-state-metrics lists the cluster's objects"),
    Allowance("grafana", API, (), "Grafana's dashboard sidecar reads ConfigMaps of this namespace"),
    Allowance("grafana-job", API, (), "the tenant-configuration job reads tenants' ConfigMaps, writes runtime files"),
    Allowance(API, "operator", _tcp(10250), "the API server calls the operator's admission webhook"),
    Allowance("prometheus", "nodes", _tcp(10250, 9100), "kubelets (cAdvisor) and node exporters"),
    Allowance(
        "prometheus",
        "kube-state-metrics",
        _tcp(8080, 8081),
        "kube-state-metrics' metrics and its own",
    ),
    Allowance("prometheus", "operator", _tcp(10250), "the operator's metrics"),
    Allowance("prometheus", "prometheus", _tcp(9090, 8080), "its own metrics and its config reloader's"),
    Allowance("prometheus", "grafana", _tcp(3000), "Grafana's metrics"),
    Allowance("alertmanager", "mail-relay", (), "alert e-mails (the smarthost's port)", when="alerting"),
    Allowance("grafana", "identity-provider", _tcp(443), "sign-in (token and user-info endpoints)", when="oidc"),
    Allowance("tempo", "object-store", _tcp(443), "trace blocks in S3", when="s3"),
    Allowance("grafana-job", "grafana", _tcp(3000), "the tenant-configuration job writes organisations and sign-in"),
    Allowance("ingress-controller", "grafana", _tcp(3000), "people reach Grafana through the ingress"),
    Allowance("promotion-gate", API, (), "the promotion gate reads Argo CD's Applications"),
    Allowance(
        "promotion-gate",
        "github",
        _tcp(443),
        "the promotion gate reads pull requests and posts statuses",
        when="promotion",
    ),
    # Tenants' data: writes.
    Allowance(
        "fluent-bit",
        "loki-gateway",
        _tcp(8080),
        "log writes",
        kind="data",
        unenforced="the gateway admits Fluent Bit's credential, to the push path only",
    ),
    Allowance(
        "loki-gateway",
        "loki",
        _tcp(3100),
        "the gateway forwards writes and queries, with their credential",
        kind="data",
        unenforced="Loki's proxy admits Fluent Bit's credential to the push path and Grafana's to the query paths, "
        "as the gateway does; Loki listens on its pod's loopback (the chart's probes' paths stay open)",
    ),
    Allowance(
        "tenant-namespaces",
        "collector",
        _tcp(4317, 4318),
        "tenants' spans (OTLP)",
        kind="data",
        unenforced="open to every pod by design: the tenant is the sender's namespace, found by its connection",
    ),
    Allowance(
        "collector",
        "tempo",
        _tcp(4317),
        "trace writes, each batch under its tenant's id",
        kind="data",
        unenforced="Tempo's proxy admits the collector's credential, to OTLP export only; Tempo listens on its "
        "pod's loopback",
    ),
    Allowance(
        "tenant-prometheus",
        "tenant-namespaces",
        _tcp("metrics"),
        "scrapes tenant pods' metrics port",
        kind="data",
        unenforced="a scrape reads what the pod exposes; the series get the pod's namespace whatever it says",
    ),
    Allowance(
        "prometheus",
        "alertmanager",
        _tcp(ALERTMANAGER_PROXY_PORT),
        "the platform's alerts (and Alertmanager's metrics), through its proxy",
        kind="data",
        unenforced="Alertmanager's proxy admits the platform Prometheus's credential, to POST /api/v2/alerts only; "
        "Alertmanager listens on its pod's loopback (its metrics and probes stay open)",
    ),
    Allowance(
        "tenant-prometheus",
        "alertmanager",
        _tcp(ALERTMANAGER_PROXY_PORT),
        "tenants' alerts, through its proxy",
        kind="data",
        unenforced="Alertmanager's proxy admits the tenants' Prometheus's credential, to POST /api/v2/alerts only",
    ),
    # Tenants' data: Grafana's read paths.
    Allowance(
        "grafana",
        "loki-gateway",
        _tcp(8080),
        "log queries",
        kind="data",
        unenforced="the gateway admits Grafana's credential, to the query paths only",
    ),
    Allowance(
        "grafana",
        "tempo",
        _tcp(3200),
        "trace queries",
        kind="data",
        unenforced="Tempo's proxy admits Grafana's credential, to the query paths only",
    ),
    Allowance(
        "grafana",
        "metrics-proxy",
        _tcp(8080),
        "tenant organisations' metric queries",
        kind="data",
        unenforced="**nothing**: the metrics proxy takes the namespaces from a header anyone can send",
    ),
    Allowance(
        "metrics-proxy",
        "tenant-prometheus",
        _tcp(9090),
        "queries confined to a tenant",
        kind="data",
        unenforced="**nothing**: the tenants' Prometheus answers any pod, every tenant's series",
    ),
    Allowance(
        "grafana",
        "tenant-prometheus",
        _tcp(9090),
        "the main organisation's tenant metrics",
        kind="data",
        unenforced="**nothing** (as above)",
    ),
    Allowance(
        "grafana",
        "prometheus",
        _tcp(9090),
        "the main organisation's platform metrics",
        kind="data",
        unenforced="**nothing**: the platform's Prometheus answers any pod (it holds no tenant's own series)",
    ),
    # Tenants' data: the promotion gate reads one service's ALERTS series at a time.
    Allowance(
        "promotion-gate",
        "tenant-prometheus",
        _tcp(9090),
        "the services' alerts over the soak",
        kind="data",
        unenforced="**nothing** (as above)",
    ),
    Allowance(
        "promotion-gate",
        "prometheus",
        _tcp(9090),
        "the workloads' alerts over the soak",
        kind="data",
        unenforced="**nothing** (as above)",
    ),
)


@dataclass(frozen=True)
class FenceInputs:
    """What the allowances need from the stack's settings."""

    settings: ObservabilitySettings
    cluster_cidrs: list[str]
    mail_relay_port: int | None = None
    identity_provider: bool = False
    object_store: bool = False
    promotion_gate: bool = False
    """The stack runs the promotion gate (imaas/declarations/promotion.py), which calls GitHub."""


def fence_inputs(
    settings: ObservabilitySettings, cluster_cidrs: list[str], promotion_gate: bool = False
) -> FenceInputs:
    alerting = settings.alerting
    return FenceInputs(
        settings=settings,
        cluster_cidrs=cluster_cidrs,
        mail_relay_port=int(alerting.smarthost.rsplit(":", 1)[1]) if alerting is not None else None,
        identity_provider=settings.grafana.oidc is not None,
        object_store=settings.tempo.bucket is not None,
        promotion_gate=promotion_gate,
    )


def active_allowances(inputs: FenceInputs) -> list[Allowance]:
    present = {
        None: True,
        "alerting": inputs.mail_relay_port is not None,
        "oidc": inputs.identity_provider,
        "s3": inputs.object_store,
        "promotion": inputs.promotion_gate,
    }
    return [allowance for allowance in ALLOWANCES if present[allowance.when]]


def _ports(allowance: Allowance, inputs: FenceInputs) -> list[dict[str, Any]]:
    ports = allowance.ports
    if allowance.target == API:
        ports = _tcp(*inputs.settings.network.api_server_ports)
    elif allowance.target == "mail-relay" and inputs.mail_relay_port is not None:
        ports = _tcp(inputs.mail_relay_port)
    return [{"protocol": protocol, "port": port} for protocol, port in ports]


def _outside(cluster_cidrs: list[str]) -> list[dict[str, Any]]:
    """Addresses outside the cluster: every range but the cluster's and the node-local ones, per address family
    whose cluster ranges are known (as the tenant namespaces' policy does)."""
    ipv4 = [cidr for cidr in cluster_cidrs if ":" not in cidr]
    ipv6 = [cidr for cidr in cluster_cidrs if ":" in cidr]
    return [
        {"ipBlock": {"cidr": everything, "except": [*ranges, *isolation.NODE_LOCAL[everything]]}}
        for everything, ranges in (("0.0.0.0/0", ipv4), ("::/0", ipv6))
        if ranges
    ]


def peers(key: str, inputs: FenceInputs) -> list[dict[str, Any]]:
    """The NetworkPolicy peers that stand for `key`, seen from a pod of the observability namespace."""
    network = inputs.settings.network
    if key in GROUP:
        return [{"podSelector": {"matchLabels": dict(GROUP[key].labels)}}]
    if key == "dns":
        return [
            {
                "namespaceSelector": {"matchLabels": {isolation.NAMESPACE_NAME_LABEL: isolation.DNS_NAMESPACE}},
                "podSelector": {"matchLabels": dict(isolation.DNS_POD_LABELS)},
            }
        ]
    if key == API:
        return [{"ipBlock": {"cidr": cidr}} for cidr in network.api_server_cidrs]
    if key == "nodes":
        return [{"ipBlock": {"cidr": cidr}} for cidr in network.node_cidrs]
    if key == "tenant-namespaces":
        return [{"namespaceSelector": dict(isolation.TENANT_NAMESPACES)}]
    if key == "ingress-controller":
        return [{"namespaceSelector": {"matchLabels": {isolation.NAMESPACE_NAME_LABEL: network.ingress_namespace}}}]
    if key in ("mail-relay", "identity-provider", "object-store", "github"):
        return _outside(inputs.cluster_cidrs)
    raise KeyError(key)


def default_deny_spec() -> dict[str, Any]:
    """Every pod of the namespace, no traffic in or out: what no allowance opens stays shut."""
    return {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


def policy_specs(inputs: FenceInputs) -> dict[str, dict[str, Any]]:
    """Every NetworkPolicy of the fence by name: the default deny, DNS for every pod, and one per pod group with
    the allowances that start or end there (a path between two groups opens both ends)."""
    allowances = active_allowances(inputs)
    specs: dict[str, dict[str, Any]] = {DEFAULT_DENY_POLICY: default_deny_spec()}
    every = [a for a in allowances if a.source == EVERY_POD]
    specs[DNS_POLICY] = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"to": peers(a.target, inputs), "ports": _ports(a, inputs)} for a in every],
    }
    for group in GROUPS:
        ingress = [
            {"from": peers(a.source, inputs), "ports": _ports(a, inputs)} for a in allowances if a.target == group.key
        ]
        egress = [
            {"to": peers(a.target, inputs), "ports": _ports(a, inputs)} for a in allowances if a.source == group.key
        ]
        if not ingress and not egress:
            continue
        spec: dict[str, Any] = {"podSelector": {"matchLabels": dict(group.labels)}, "policyTypes": []}
        if ingress:
            spec["policyTypes"].append("Ingress")
            spec["ingress"] = ingress
        if egress:
            spec["policyTypes"].append("Egress")
            spec["egress"] = egress
        specs[f"{POLICY_PREFIX}{group.key}"] = spec
    return specs
