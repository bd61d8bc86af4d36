"""The admission policies of tenant namespaces: their real CEL, run against what a tenant may and may not create in
its own namespace (`orders-dev`), one table of allowed and refused objects per policy. Every hole of the review
(issue 16) has a refused case."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import admission_kinds
import pytest
import yaml
from admission_cel import DEPLOYER, GROUPS, CelError, admit, bindings, compile_expression, evaluate
from crd_schemas import SCHEMAS

from imaas.declarations import admission, isolation
from imaas.declarations.admission import AdmissionRule, Parameter
from imaas.model.settings import StackSettings

pytestmark = pytest.mark.fast

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ALLOWED_IMAGE = "docker.io/library/busybox:1.37.0"
PULUMI = "arn:aws:sts::123456789012:assumed-role/imaas-deploy/pulumi"
SETTINGS = StackSettings(
    environments=["dev", "test"],
    ingress_host_suffix="apps.example.com",
    ecr_registry=REGISTRY,
    image_allow_list=[ALLOWED_IMAGE],
    platform_identities=[PULUMI],
)
RULES = {rule.name: rule for rule in admission.admission_rules(SETTINGS)}
OWN = f"{REGISTRY}/orders/order-sync:1.4.2"
OTHERS = f"{REGISTRY}/payments/ledger:2.0.0"


def service(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "order-sync"},
            "spec": {"selector": {"app": "order-sync"}, "ports": [{"port": 8290}], **spec}}  # fmt: skip


def ingress(rules: list[dict[str, Any]] | None = None, annotations: dict[str, str] | None = None, **spec: Any) -> dict:
    backend = {"service": {"name": "order-sync", "port": {"number": 8290}}}
    if rules is None:
        rules = [{"host": "api.orders.dev.apps.example.com"}]
    paths = {"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    metadata: dict[str, Any] = {"name": "order-sync"}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata,
            "spec": {"rules": [{**rule, **paths} for rule in rules], **spec}}  # fmt: skip


def pod_spec(image: str = OWN, init: str | None = None, ephemeral: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "mi", "image": image}]}
    if init:
        spec["initContainers"] = [{"name": "setup", "image": init}]
    if ephemeral:
        spec["ephemeralContainers"] = [{"name": "debug", "image": ephemeral}]
    return spec


def workload(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    api = {"Pod": "v1", "ReplicationController": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    template = {"metadata": {"labels": {"app": "order-sync"}}, "spec": spec}
    body = {
        "Pod": spec,
        "CronJob": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}},
    }.get(kind, {"selector": {"matchLabels": {"app": "order-sync"}}, "template": template})
    return {"apiVersion": api, "kind": kind, "metadata": {"name": "order-sync"}, "spec": body}


def endpoints(kind: str = "Endpoints") -> dict[str, Any]:
    if kind == "Endpoints":
        return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "order-sync"},
                "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 8290}]}]}  # fmt: skip
    return {"apiVersion": "discovery.k8s.io/v1", "kind": kind, "metadata": {"name": "order-sync-x"},
            "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.2.3"]}]}  # fmt: skip


def monitor(kind: str = "ServiceMonitor", **endpoint: Any) -> dict[str, Any]:
    key = {"ServiceMonitor": "endpoints", "PodMonitor": "podMetricsEndpoints"}[kind]
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": kind, "metadata": {"name": "order-sync"},
            "spec": {"selector": {"matchLabels": {"app": "order-sync"}},
                     key: [{"port": "metrics", **endpoint}]}}  # fmt: skip


def monitoring_object(kind: str) -> dict[str, Any]:
    version = "v1alpha1" if kind in ("ScrapeConfig", "AlertmanagerConfig") else "v1"
    return {"apiVersion": f"monitoring.coreos.com/{version}", "kind": kind, "metadata": {"name": "mine"}, "spec": {}}


def with_image_volume(reference: str | None) -> dict[str, Any]:
    image = {"reference": reference, "pullPolicy": "IfNotPresent"} if reference else {"pullPolicy": "IfNotPresent"}
    return {**pod_spec(), "volumes": [{"name": "data", "image": image}]}


PLATFORM_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "imaas.io/tenant": "orders"}


def account(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "orders-dev"}
    if labels:
        metadata["labels"] = labels
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata}


def budget(**spec: Any) -> dict[str, Any]:
    spec = {"unhealthyPodEvictionPolicy": "AlwaysAllow", **spec}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "wso2mi-service"},
            "spec": {"selector": {"matchLabels": {"app": "order-sync"}},
                     **{key: value for key, value in spec.items() if value is not None}}}  # fmt: skip


def route(hostnames: list[str] | None = None, parents: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "parentRefs": parents if parents is not None else [OWN_LISTENERS],
        "rules": [{"backendRefs": [{"name": "order-sync-wso2mi-service", "port": 8290}]}],
    }
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "order-sync"},
            "spec": spec}  # fmt: skip


OWN_LISTENERS = {"group": "gateway.networking.k8s.io", "kind": "ListenerSet", "name": "imaas-routes",
                 "sectionName": "order-sync"}  # fmt: skip
SHARED_GATEWAY = {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "imaas-tenants",
                  "namespace": "imaas-gateway"}  # fmt: skip
CERT_MANAGER = "system:serviceaccount:cert-manager:cert-manager"


def custom(api_version: str, kind: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": "mine"}, "spec": spec or {}}


OWN_STORE = custom("external-secrets.io/v1", "SecretStore", {"provider": {"aws": {
    "service": "SecretsManager", "region": "eu-west-1",
    "auth": {"jwt": {"serviceAccountRef": {"name": "order-sync"}}}}}})  # fmt: skip
READ_OTHERS = custom("external-secrets.io/v1", "ExternalSecret", {
    "secretStoreRef": {"name": "imaas-secrets", "kind": "SecretStore"}, "target": {"name": "theirs"},
    "data": [{"secretKey": "value", "remoteRef": {"key": "imaas/payments/ledger/dev/db-password"}}]})  # fmt: skip
OTHERS_CERTIFICATE = custom("cert-manager.io/v1", "Certificate", {
    "secretName": "theirs", "dnsNames": ["ledger.payments.dev.apps.example.com"],
    "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt"}})  # fmt: skip
OWN_LISTENER_SET = custom(
    "gateway.networking.k8s.io/v1",
    "ListenerSet",
    {
        "parentRef": {"name": "imaas-tenants", "namespace": "imaas-gateway"},
        "listeners": [
            {"name": "x", "hostname": "ledger.payments.dev.apps.example.com", "port": 443, "protocol": "HTTPS"}
        ],
    },
)
TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"
CONTROLLER = "system:serviceaccount:kube-system:endpointslice-controller"
# (policy, case, object, user, allowed)
CASES: list[tuple[str, str, dict[str, Any], str, bool]] = [
    ("no-external-ips", "a plain ClusterIP service", service(), DEPLOYER, True),
    ("no-external-ips", "an empty externalIPs list", service(externalIPs=[]), DEPLOYER, True),
    ("no-external-ips", "externalIPs (CVE-2020-8554)", service(externalIPs=["10.0.0.10"]), DEPLOYER, False),
    ("no-external-ips", "externalIPs by the platform's identity", service(externalIPs=["1.2.3.4"]), PULUMI, False),
    ("no-external-name", "a ClusterIP service", service(type="ClusterIP"), DEPLOYER, True),
    ("no-external-name", "ExternalName into another namespace",
     {**service(), "spec": {"type": "ExternalName", "externalName": "ledger.payments-dev.svc.cluster.local"}},
     DEPLOYER, False),
    ("ingress-hosts", "hosts under its own suffix", ingress(
        [{"host": "api.orders.dev.apps.example.com"}, {"host": "*.orders.dev.apps.example.com"}],
        tls=[{"hosts": ["api.orders.dev.apps.example.com"], "secretName": "tls"}]), DEPLOYER, True),
    ("ingress-hosts", "another tenant's host", ingress([{"host": "api.payments.dev.apps.example.com"}]),
     DEPLOYER, False),
    ("ingress-hosts", "its own host in another environment", ingress([{"host": "api.orders.prod.apps.example.com"}]),
     DEPLOYER, False),
    ("ingress-hosts", "a suffix that only ends like its own", ingress([{"host": "api.xorders.dev.apps.example.com"}]),
     DEPLOYER, False),
    ("ingress-hosts", "the bare environment zone", ingress([{"host": "orders.dev.apps.example.com"}]), DEPLOYER, False),
    ("ingress-hosts", "a host outside the zone", ingress([{"host": "www.example.org"}]), DEPLOYER, False),
    ("ingress-hosts", "a rule without a host", ingress([{}]), DEPLOYER, False),
    ("ingress-hosts", "no rules, only a default backend",
     {**ingress(), "spec": {"defaultBackend": {"service": {"name": "order-sync", "port": {"number": 8290}}}}},
     DEPLOYER, False),
    ("ingress-hosts", "a default backend beside its rules",
     ingress(defaultBackend={"service": {"name": "order-sync", "port": {"number": 8290}}}), DEPLOYER, False),
    ("ingress-hosts", "a TLS host of another tenant",
     ingress(tls=[{"hosts": ["pay.payments.dev.apps.example.com"], "secretName": "tls"}]), DEPLOYER, False),
    ("ingress-hosts", "a TLS entry without hosts (a catch-all certificate)", ingress(tls=[{"secretName": "tls"}]),
     DEPLOYER, False),
    ("ingress-hosts", "a TLS entry with an empty host list", ingress(tls=[{"hosts": [], "secretName": "tls"}]),
     DEPLOYER, False),
    ("ingress-annotations", "no annotations", ingress(), DEPLOYER, True),
    ("ingress-annotations", "Low-risk annotations", ingress(annotations={
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "120", "nginx.ingress.kubernetes.io/limit-rps": "50",
        "nginx.ingress.kubernetes.io/ssl-redirect": "true"}), DEPLOYER, True),
    ("ingress-annotations", "another tool's annotations",
     ingress(annotations={"cert-manager.io/cluster-issuer": "letsencrypt", "example.com/owner": "orders"}),
     DEPLOYER, True),
    *(
        ("ingress-annotations", f"annotation {name}",
         ingress(annotations={"nginx.ingress.kubernetes.io/proxy-read-timeout": "120",
                              f"nginx.ingress.kubernetes.io/{name}": "x"}), DEPLOYER, False)
        for name in ("mirror-target", "mirror-host", "server-snippet", "configuration-snippet", "auth-snippet",
                     "stream-snippet", "modsecurity-snippet", "server-alias", "auth-url", "auth-signin",
                     "auth-tls-secret", "proxy-ssl-secret", "proxy-ssl-name", "rewrite-target", "upstream-hash-by",
                     "a-future-annotation")
    ),
    *(
        ("image-registry", f"a {kind} of its own images", workload(kind, pod_spec(OWN, init=OWN)), DEPLOYER, True)
        for kind in ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                     "ReplicationController")
    ),
    *(
        ("image-registry", f"a {kind} of another tenant's image", workload(kind, pod_spec(OTHERS)), DEPLOYER, False)
        for kind in ("Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                     "ReplicationController")
    ),
    ("image-registry", "an image on the allow-list", workload("Deployment", pod_spec(ALLOWED_IMAGE)), DEPLOYER, True),
    ("image-registry", "another tag of an allowed image",
     workload("Deployment", pod_spec("docker.io/library/busybox:latest")), DEPLOYER, False),
    ("image-registry", "another tenant's init container", workload("Job", pod_spec(OWN, init=OTHERS)), DEPLOYER, False),
    ("image-registry", "another tenant's ephemeral container", workload("Pod", pod_spec(OWN, ephemeral=OTHERS)),
     DEPLOYER, False),
    ("image-registry", "a tenant whose name starts like its own",
     workload("Pod", pod_spec(f"{REGISTRY}/orders-archive/x:1")), DEPLOYER, False),
    ("image-registry", "its own path in another account's registry",
     workload("Pod", pod_spec("999999999999.dkr.ecr.eu-west-1.amazonaws.com/orders/order-sync:1")), DEPLOYER, False),
    ("image-registry", "a public image", workload("Deployment", pod_spec("nginx:1.27")), DEPLOYER, False),
    ("image-registry", "a container without an image", workload("Pod", {"containers": [{"name": "mi"}]}),
     DEPLOYER, False),
    *(
        ("image-registry", f"a {kind} mounting its own image", workload(kind, with_image_volume(OWN)), DEPLOYER, True)
        for kind in ("Pod", "Deployment", "CronJob")
    ),
    *(
        ("image-registry", f"a {kind} mounting another tenant's image", workload(kind, with_image_volume(OTHERS)),
         DEPLOYER, False)
        for kind in ("Pod", "Deployment", "CronJob")
    ),
    ("image-registry", "an image volume without a reference", workload("Pod", with_image_volume(None)), DEPLOYER,
     False),
    ("image-registry", "other volumes", workload("Pod", {**pod_spec(), "volumes": [{"name": "tmp", "emptyDir": {}}]}),
     DEPLOYER, True),
    ("no-endpoints", "Endpoints written by the endpoint controller", endpoints(),
     "system:serviceaccount:kube-system:endpoint-controller", True),
    ("no-endpoints", "an EndpointSlice written by its controller", endpoints("EndpointSlice"), CONTROLLER, True),
    ("no-endpoints", "Endpoints written by kube-controller-manager", endpoints(), "system:kube-controller-manager",
     True),
    ("no-endpoints", "hand-written Endpoints", endpoints(), DEPLOYER, False),
    ("no-endpoints", "a hand-written EndpointSlice", endpoints("EndpointSlice"), DEPLOYER, False),
    ("no-endpoints", "Endpoints by a developer", endpoints(), "alice@example.com", False),
    ("monitors-read-no-files", "an ordinary ServiceMonitor", monitor(), DEPLOYER, True),
    ("monitors-read-no-files", "a ServiceMonitor with a token from a Secret",
     monitor(bearerTokenSecret={"name": "token", "key": "t"}, tlsConfig={"ca": {"secret": {"name": "ca", "key": "c"}}}),
     DEPLOYER, True),
    ("monitors-read-no-files", "a ServiceMonitor with bearerTokenFile", monitor(bearerTokenFile=TOKEN), DEPLOYER,
     False),
    *(
        ("monitors-read-no-files", f"a ServiceMonitor with tlsConfig.{field}",
         monitor(tlsConfig={field: "/etc/prometheus/secrets/x"}), DEPLOYER, False)
        for field in ("caFile", "certFile", "keyFile")
    ),
    *(
        ("monitors-scrape-own-pods", f"an ordinary {kind}", monitor(kind), DEPLOYER, True)
        for kind in ("ServiceMonitor", "PodMonitor")
    ),
    *(
        ("monitors-scrape-own-pods", f"a {kind} relabelling into ordinary labels", monitor(kind, relabelings=[
            {"sourceLabels": ["__meta_kubernetes_pod_label_app"], "targetLabel": "app"},
            {"action": "labeldrop", "regex": "pod_template_hash"}],
            metricRelabelings=[{"sourceLabels": ["__name__"], "regex": "go_.*", "action": "drop"},
                               {"sourceLabels": ["__name__"], "regex": "old_(.*)", "targetLabel": "__name__",
                                "replacement": "new_$1"}]), DEPLOYER, True)
        for kind in ("ServiceMonitor", "PodMonitor")
    ),
    *(
        ("monitors-scrape-own-pods", f"a {kind} writing {where} {label}",
         monitor(kind, **{where: [{"targetLabel": label, "replacement": "127.0.0.1:9090"}]}), DEPLOYER, False)
        for kind in ("ServiceMonitor", "PodMonitor")
        for where, label in (("relabelings", "__address__"), ("relabelings", "__scheme__"),
                             ("relabelings", "__metrics_path__"), ("relabelings", "__param_match[]"),
                             ("relabelings", "__scrape_timeout__"), ("metricRelabelings", "__address__"))
    ),
    *(
        ("monitors-scrape-own-pods", f"a {kind} using {action}",
         monitor(kind, relabelings=[{"action": action, "regex": "__meta_kubernetes_pod_annotation_(.+)",
                                     "replacement": "__${1}__"}]), DEPLOYER, False)
        for kind in ("ServiceMonitor", "PodMonitor")
        for action in ("labelmap", "LabelMap")
    ),
    *(
        ("monitors-scrape-own-pods", f"a {kind} with {field}", monitor(kind, **{field: value}), DEPLOYER, False)
        for kind in ("ServiceMonitor", "PodMonitor")
        for field, value in (("proxyUrl", "http://prometheus-operated.observability:9090"),
                             ("proxyFromEnvironment", True),
                             ("proxyConnectHeader", {"x": [{"name": "s", "key": "k"}]}),
                             ("oauth2", {"clientId": {"secret": {"name": "s", "key": "id"}},
                                         "clientSecret": {"name": "s", "key": "secret"},
                                         "tokenUrl": "http://kube-state-metrics.observability:8080/metrics"}))
    ),
    ("monitors-scrape-own-pods", "a hostile monitor's second endpoint", {**monitor(), "spec": {
        "selector": {}, "endpoints": [{"port": "metrics"}, {"port": "metrics", "relabelings": [
            {"targetLabel": "__address__", "replacement": "localhost:9090"}]}]}}, DEPLOYER, False),
    *(
        ("platform-only-monitoring", f"a tenant's {kind}", monitoring_object(kind), DEPLOYER, False)
        for kind in ("Prometheus", "PrometheusAgent", "Alertmanager", "ThanosRuler", "ScrapeConfig",
                     "AlertmanagerConfig", "Probe")
    ),
    ("platform-only-monitoring", "the platform's AlertmanagerConfig", monitoring_object("AlertmanagerConfig"), PULUMI,
     True),
    *(
        ("priority-classes", f"a {kind} in class {name}", workload(kind, {**pod_spec(), "priorityClassName": name}),
         DEPLOYER, True)
        for kind in ("Pod", "Deployment", "CronJob")
        for name in ("imaas-tenant", "imaas-tenant-low")
    ),
    ("priority-classes", "a pod naming no class", workload("Pod", pod_spec()), DEPLOYER, True),
    *(
        ("priority-classes", f"a {kind} in class {name}", workload(kind, {**pod_spec(), "priorityClassName": name}),
         DEPLOYER, False)
        for kind in ("Pod", "Deployment", "StatefulSet", "Job", "CronJob")
        for name in ("system-node-critical", "system-cluster-critical", "imaas-platform", "high-priority")
    ),
    ("platform-objects", "a ServiceAccount of its own", account("order-sync"), DEPLOYER, True),
    ("platform-objects", "a ServiceAccount labelled as the platform's", account("argocd-deployer", PLATFORM_LABELS),
     DEPLOYER, False),
    ("platform-objects", "the platform's own write", account("argocd-deployer", PLATFORM_LABELS), PULUMI, True),
    ("platform-objects", "a pod's own account writing the platform's PodMonitor",
     {**monitor("PodMonitor"), "metadata": {"name": "imaas-services", "labels": PLATFORM_LABELS}},
     "system:serviceaccount:orders-dev:order-sync", False),
    ("route-hosts", "its own host, on its namespace's ListenerSet", route(["api.orders.dev.apps.example.com"]),
     DEPLOYER, True),
    ("route-hosts", "the ListenerSet named with its own namespace",
     route(["api.orders.dev.apps.example.com"], [{**OWN_LISTENERS, "namespace": "orders-dev"}]), DEPLOYER, True),
    ("route-hosts", "another tenant's host", route(["ledger.payments.dev.apps.example.com"]), DEPLOYER, False),
    ("route-hosts", "its own host in another environment", route(["api.orders.prod.apps.example.com"]), DEPLOYER,
     False),
    ("route-hosts", "one own host and one other", route(["api.orders.dev.apps.example.com", "example.com"]), DEPLOYER,
     False),
    ("route-hosts", "no hostnames (every host of its listeners)", route(), DEPLOYER, False),
    ("route-hosts", "attached to the shared Gateway",
     route(["api.orders.dev.apps.example.com"], [SHARED_GATEWAY]), DEPLOYER, False),
    ("route-hosts", "attached to another namespace's ListenerSet",
     route(["api.orders.dev.apps.example.com"], [{**OWN_LISTENERS, "namespace": "payments-dev"}]), DEPLOYER, False),
    ("route-hosts", "a parent without a kind (the Gateway by default)",
     route(["api.orders.dev.apps.example.com"], [{"name": "imaas-routes"}]), DEPLOYER, False),
    ("route-hosts", "cert-manager's HTTP-01 solver route", route(["api.orders.dev.apps.example.com"],
     [SHARED_GATEWAY]), CERT_MANAGER, True),
    ("platform-only-secrets", "a tenant's own SecretStore", OWN_STORE, DEPLOYER, False),
    ("platform-only-secrets", "a tenant's ExternalSecret reading another tenant's path", READ_OTHERS, DEPLOYER, False),
    ("platform-only-secrets", "a tenant's ClusterSecretStore-like generator",
     custom("generators.external-secrets.io/v1alpha1", "Password", {"length": 32}), DEPLOYER, False),
    ("platform-only-secrets", "the platform's ExternalSecret", READ_OTHERS, PULUMI, True),
    ("platform-only-certificates", "a tenant's certificate for another tenant's host", OTHERS_CERTIFICATE, DEPLOYER,
     False),
    ("platform-only-certificates", "the platform's certificate", OTHERS_CERTIFICATE, PULUMI, True),
    ("platform-only-certificates", "cert-manager's own request",
     custom("cert-manager.io/v1", "CertificateRequest", {"request": "eA=="}), CERT_MANAGER, True),
    ("platform-only-gateway-kinds", "a tenant's ListenerSet claiming another tenant's host", OWN_LISTENER_SET,
     DEPLOYER, False),
    ("platform-only-gateway-kinds", "a tenant's ReferenceGrant",
     custom("gateway.networking.k8s.io/v1", "ReferenceGrant", {"from": [], "to": []}), DEPLOYER, False),
    ("platform-only-gateway-kinds", "the platform's ListenerSet", OWN_LISTENER_SET, PULUMI, True),
    ("secret-store-account", "a pod of its own account", workload("Deployment", pod_spec()), DEPLOYER, True),
    ("secret-store-account", "a pod as the secret store's account",
     workload("Deployment", {**pod_spec(), "serviceAccountName": "imaas-secrets"}), DEPLOYER, False),
    ("secret-store-account", "a pod as the store's account by the deprecated field",
     workload("Pod", {**pod_spec(), "serviceAccount": "imaas-secrets"}), DEPLOYER, False),
    ("disruption-budgets", "the service template's budget", budget(maxUnavailable=1), DEPLOYER, True),
    ("disruption-budgets", "a percentage", budget(maxUnavailable="25%"), DEPLOYER, True),
    ("disruption-budgets", "maxUnavailable 0", budget(maxUnavailable=0), DEPLOYER, False),
    ("disruption-budgets", "maxUnavailable 0%", budget(maxUnavailable="0%"), DEPLOYER, False),
    ("disruption-budgets", "minAvailable 100%", budget(minAvailable="100%"), DEPLOYER, False),
    ("disruption-budgets", "minAvailable 1 (all of a single replica)", budget(minAvailable=1), DEPLOYER, False),
    ("disruption-budgets", "both", budget(maxUnavailable=1, minAvailable=1), DEPLOYER, False),
    ("disruption-budgets", "unhealthy pods kept while the budget is spent",
     budget(maxUnavailable=1, unhealthyPodEvictionPolicy="IfHealthyBudget"), DEPLOYER, False),
    ("disruption-budgets", "no eviction policy", budget(maxUnavailable=1, unhealthyPodEvictionPolicy=None), DEPLOYER,
     False),
]  # fmt: skip


@pytest.mark.parametrize(("policy", "case", "obj", "user", "allowed"), CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_each_policy_allows_and_refuses_what_its_table_says(
    policy: str, case: str, obj: dict[str, Any], user: str, allowed: bool
) -> None:
    rule = RULES[admission.POLICY_PREFIX + policy]
    verdict = admit(rule, obj, user=user)
    assert verdict.allowed is allowed, (case, verdict.messages)
    # Refused by what a validation says, never by an expression that fails to evaluate.
    assert not verdict.errors, (case, verdict.errors)
    if not allowed:
        assert all(message.strip() for message in verdict.messages)


def test_every_policy_has_allowed_and_refused_cases() -> None:
    verdicts = {(admission.POLICY_PREFIX + policy, allowed) for policy, _, _, _, allowed in CASES}
    assert verdicts == {(name, allowed) for name in RULES for allowed in (True, False)}


def _kind_resource(obj: dict[str, Any]) -> tuple[str, str]:
    group = obj["apiVersion"].rpartition("/")[0]
    kind = obj["kind"].lower()
    return group, kind if kind == "endpoints" else kind + ("es" if kind.endswith("s") else "s")


@pytest.mark.parametrize("policy", sorted({case[0] for case in CASES}))
def test_each_tables_objects_are_ones_its_policy_matches(policy: str) -> None:
    # A case the policy's match constraints leave out would pass the API server unchecked, whatever the CEL says.
    rule = RULES[admission.POLICY_PREFIX + policy]
    for _, _, obj, _, _ in (case for case in CASES if case[0] == policy):
        group, resource = _kind_resource(obj)
        assert any(
            {group, "*"} & set(match.api_groups) and {resource, "*"} & set(match.resources) and "CREATE" in
            match.operations for match in rule.matches
        ), (policy, obj["kind"])  # fmt: skip


def test_ephemeral_containers_are_checked_where_they_are_added() -> None:
    rule = RULES[f"{admission.POLICY_PREFIX}image-registry"]
    assert any("pods/ephemeralcontainers" in match.resources and "UPDATE" in match.operations for match in rule.matches)
    debug = workload("Pod", pod_spec(OWN, ephemeral=OTHERS))
    assert not admit(rule, debug, operation="UPDATE", old=workload("Pod", pod_spec(OWN))).allowed


def test_refusals_name_the_tenants_own_suffix_and_registry_path() -> None:
    hosts = admit(RULES[f"{admission.POLICY_PREFIX}ingress-hosts"], ingress([{"host": "www.example.org"}]))
    assert "<name>.orders.dev.apps.example.com" in hosts.messages[0]
    images = admit(RULES[f"{admission.POLICY_PREFIX}image-registry"], workload("Pod", pod_spec(OTHERS)))
    assert f"{REGISTRY}/orders/" in images.messages[0]


def test_no_policy_exempts_a_tenants_deployer_or_has_a_deployer_setting_accepted() -> None:
    for rule in RULES.values():
        assert not any(name.endswith(":argocd-deployer") for name in rule.exempt)
        for condition in rule.match_conditions():
            if condition["name"] == "not-exempt":
                assert evaluate(condition["expression"], bindings({}, DEPLOYER, "CREATE", None))
    with pytest.raises(ValueError, match="deployer"):
        StackSettings.model_validate({**SETTINGS.model_dump(by_alias=True), "platformIdentities": [DEPLOYER]})


def test_every_message_expression_is_what_some_refusal_says() -> None:
    # A message expression that fails leaves the static message (and the table test finds its error): each one is
    # what a refused case of the table is told.
    said = set()
    for policy, _, obj, user, allowed in CASES:
        if not allowed:
            said |= set(admit(RULES[admission.POLICY_PREFIX + policy], obj, user=user).messages)
    for rule in RULES.values():
        for validation in rule.validations:
            if validation.message_expression:
                assert validation.message not in said or any(m != validation.message for m in said), rule.name
                assert any(m.startswith(validation.message_expression.split("'")[1][:30]) for m in said), rule.name


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_each_rule_reads_the_parameters_it_declares(rule: AdmissionRule) -> None:
    text = json.dumps(rule.policy_spec())
    seen = {
        Parameter.TENANT: re.search(r"imaas\.io/tenant(?![-\w])", text) is not None,
        Parameter.ENVIRONMENT: "imaas.io/environment" in text,
        Parameter.HOST_SUFFIX: SETTINGS.ingress_host_suffix in text,
        Parameter.REGISTRY: REGISTRY in text,
        Parameter.IMAGE_ALLOW_LIST: ALLOWED_IMAGE in text,
        Parameter.PLATFORM_IDENTITIES: PULUMI in text,
        Parameter.TENANT_GROUPS: admission.TENANT_GROUPS_ANNOTATION in text,
        Parameter.PRIORITY_CLASSES: "imaas-tenant-low" in text,
    }
    assert {parameter for parameter, found in seen.items() if found} == set(rule.reads)


def _file_fields(schema: dict[str, Any], path: str = "") -> set[str]:
    found = set()
    for name, child in (schema.get("properties") or {}).items():
        where = f"{path}.{name}" if path else name
        if name.endswith(("File", "Files")) or name == "files":
            found.add(where)
        found |= _file_fields(child, where)
    if "items" in schema:
        found |= _file_fields(schema["items"], path)
    return found


def test_the_file_fields_refused_are_every_file_field_of_the_tenant_monitor_kinds() -> None:
    # The operator 0.91 CRDs: a field the policy named that the CRD lacks would fail the policy's type check (and,
    # failing closed, refuse every monitor); a file field it missed would reach the shared Prometheus.
    refused = {
        f"{endpoints.removeprefix('object.')}.{field}"
        for endpoints, fields in admission.MONITOR_FILE_FIELDS.values()
        for field in fields
    }
    found = set()
    for kind in ("servicemonitor", "podmonitor", "probe"):
        found |= _file_fields(json.loads((SCHEMAS / f"prometheus-{kind}.schema.json").read_text()))
    assert found == refused
    assert "scrapeconfigs" in admission.PLATFORM_ONLY_MONITORING  # the one kind with fileSDConfigs.files


def test_the_expressions_keep_to_the_common_cel_subset() -> None:
    text = yaml.safe_dump([rule.policy_spec() for rule in RULES.values()])
    # `matches` (RE2) is standard CEL; the rest are cel-go's or Kubernetes' extension libraries.
    for extension in (".?", "optional.", "split(", "lowerAscii", "format(", "url(", "ip(", "cidr(", "quantity("):
        assert extension not in text


# What a policy refuses even in its smallest form, and why; every other rule admits the smallest object of each kind
# it matches.
REFUSES_THE_SMALLEST = {
    "ingress-hosts": "an Ingress without rules would answer for hosts that are not the tenant's",
    "disruption-budgets": "a budget must say how many pods a drain may evict (maxUnavailable)",
    "no-endpoints": "only the cluster's controllers write Endpoints",
    "platform-only-monitoring": "these kinds are the platform's",
    "platform-only-secrets": "these kinds are the platform's",
    "platform-only-certificates": "these kinds are the platform's",
    "platform-only-gateway-kinds": "these kinds are the platform's",
    "route-hosts": "a route without hostnames would take every host of its listeners",
}


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_no_expression_fails_on_the_smallest_objects_of_the_kinds_it_matches(rule: AdmissionRule) -> None:
    # Under cel-go a field selected on an object that lacks it is an error, and an error refuses (failurePolicy
    # Fail): every optional field a rule reads is guarded. The objects hold what the kind's schema requires, then
    # the objects and lists the rule reads (their own fields unset), then every field it reads.
    kinds = 0
    for kind, operations in admission_kinds.matched_kinds(rule):
        kinds += 1
        for shape in admission_kinds.shapes(rule):
            obj = admission_kinds.minimal_object(kind, shape)
            # The same object labelled as the platform's, which the rule on the platform's objects reads.
            platforms = copy.deepcopy(obj)
            platforms["metadata"]["labels"] = {**platforms["metadata"].get("labels", {}), **PLATFORM_LABELS}
            for operation in operations:
                for each in (obj, platforms):
                    new, old = (
                        (None, each) if operation == "DELETE" else (each, each if operation == "UPDATE" else None)
                    )
                    verdict = admit(rule, new, operation=operation, old=old)
                    assert not verdict.errors, (kind.kind, shape.name, operation, each, verdict.errors)
                verdict = admit(
                    rule,
                    None if operation == "DELETE" else obj,
                    operation=operation,
                    old=None if operation == "CREATE" else obj,
                )
                if shape.name == "required fields only":
                    refused = rule.name.removeprefix(admission.POLICY_PREFIX) in REFUSES_THE_SMALLEST
                    assert verdict.allowed is not refused, (kind.kind, operation, obj, verdict.messages)
    assert kinds


def test_every_expression_compiles_in_standard_cel_alone() -> None:
    # The judge's environment has CEL's standard library only: an expression using one of Kubernetes' libraries
    # (or cel-go's extensions) fails to compile there.
    for rule in RULES.values():
        spec = rule.policy_spec()
        expressions = [c["expression"] for c in spec.get("matchConditions", [])]
        expressions += [v["expression"] for v in spec.get("variables", [])]
        for validation in spec["validations"]:
            expressions += [validation["expression"], *filter(None, [validation.get("messageExpression")])]
        for expression in expressions:
            compile_expression(expression)


def test_the_judge_has_cel_gos_semantics() -> None:
    # A missing key is an error (cel-python answered false), and an error refuses.
    with pytest.raises(CelError, match="tlsConfig"):
        evaluate("object.spec.endpoints.all(e, !has(e.tlsConfig.caFile))", {"object": monitor()})
    with pytest.raises(RuntimeError, match="lowerAscii"):
        compile_expression("'A'.lowerAscii() == 'a'")


DEVELOPER_GROUPS = ("orders-devs", "system:authenticated")


@pytest.mark.parametrize(
    ("case", "operation", "new", "old", "user", "groups", "allowed"),
    [
        ("a developer deleting the deployer account", "DELETE", None, account("argocd-deployer", PLATFORM_LABELS),
         "alice@example.com", DEVELOPER_GROUPS, False),
        ("a developer relabelling the deployer account as its own", "UPDATE", account("argocd-deployer"),
         account("argocd-deployer", PLATFORM_LABELS), "alice@example.com", DEVELOPER_GROUPS, False),
        ("the deployer updating the platform's PodMonitor", "UPDATE",
         {**monitor("PodMonitor"), "metadata": {"name": "imaas-services", "labels": PLATFORM_LABELS}},
         {**monitor("PodMonitor"), "metadata": {"name": "imaas-services", "labels": PLATFORM_LABELS}}, DEPLOYER,
         GROUPS, False),
        ("a developer deleting its own account", "DELETE", None, account("order-sync"), "alice@example.com",
         DEVELOPER_GROUPS, True),
        ("the platform deleting its own object", "DELETE", None, account("argocd-deployer", PLATFORM_LABELS), PULUMI,
         ("system:authenticated",), True),
        ("a group whose name only contains the tenant's", "DELETE", None, account("argocd-deployer", PLATFORM_LABELS),
         "mallory@example.com", ("orders-devs-x", "orders"), True),
        ("another namespace's account", "DELETE", None, account("argocd-deployer", PLATFORM_LABELS),
         "system:serviceaccount:orders-test:argocd-deployer", GROUPS, True),
    ],
)  # fmt: skip
def test_tenant_subjects_do_not_write_the_platforms_objects(
    case: str,
    operation: str,
    new: dict[str, Any] | None,
    old: dict[str, Any] | None,
    user: str,
    groups: tuple[str, ...],
    allowed: bool,
) -> None:
    # Tenant subjects: the namespace's ServiceAccounts and the tenant's groups, which the namespace's annotation
    # lists. Anyone else is the platform, the cluster, or stopped by RBAC (another namespace's account, a group
    # that is no tenant's).
    verdict = admit(RULES[f"{admission.POLICY_PREFIX}platform-objects"], new, operation=operation, old=old,
                    user=user, groups=groups)  # fmt: skip
    assert (verdict.allowed, verdict.errors) == (allowed, []), (case, verdict.messages)


MONITOR_RULES = ("monitors-scrape-own-pods", "monitors-read-no-files")


def test_the_plan_guardrails_reading_of_monitors_agrees_with_the_cel() -> None:
    # One rule set: the guardrail on the platform's monitors reads them in Python, with the same constants; on every
    # monitor of the table it refuses exactly what the policies refuse.
    monitors = [case for case in CASES if case[0] in MONITOR_RULES]
    assert len(monitors) > 20
    for _, case, obj, user, _ in monitors:
        verdicts = [admit(RULES[admission.POLICY_PREFIX + rule], obj, user=user) for rule in MONITOR_RULES]
        refused = not all(verdict.allowed for verdict in verdicts)
        assert bool(admission.monitor_problems(obj)) is refused, case


def _fields(schema: dict[str, Any], path: str) -> dict[str, Any]:
    for step in path.split(".")[1:]:
        schema = schema["properties"][step]
    return schema["items"]["properties"]


def test_every_monitor_field_a_policy_reads_is_in_its_kinds_crd() -> None:
    # Operator v0.91.0: a field misspelt would never be present, and the policy would admit what it means to refuse.
    crds = json.loads(admission_kinds.CRDS.read_text())["kinds"]
    for resource, (_, endpoints) in admission.MONITOR_ENDPOINTS.items():
        fields = _fields(crds[resource]["versions"]["v1"], endpoints)
        assert set(admission.MONITOR_REFUSED_FIELDS) | set(admission.RELABELING_LISTS) <= set(fields), resource
        for name in admission.RELABELING_LISTS:
            relabeling = fields[name]["items"]["properties"]
            assert {"targetLabel", "action"} <= set(relabeling)
            assert set(admission.LABELMAP_ACTIONS) <= set(relabeling["action"]["enum"])


def test_tenant_priority_classes_outrank_nothing_and_never_preempt() -> None:
    for priority in isolation.TENANT_PRIORITY_CLASSES:
        assert priority.value <= 0 and priority.preemption_policy == "Never", priority.name
        assert priority.manifest_fields()["globalDefault"] is False


def test_the_ingress_annotation_allow_list_is_documented() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "isolation.md").read_text(encoding="utf-8")
    for name in admission.INGRESS_ALLOWED_ANNOTATIONS:
        assert f"`{name}`" in text, name
