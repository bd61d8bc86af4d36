"""The admission policies of tenant namespaces: their real CEL, run against what a tenant may and may not create in
its own namespace (`orders-dev`), one table of allowed and refused objects per policy. Every hole of the review
(issue 16) has a refused case."""

from __future__ import annotations

import json
from typing import Any

import admission_kinds
import pytest
import yaml
from admission_cel import DEPLOYER, CelError, admit, bindings, compile_expression, evaluate
from crd_schemas import SCHEMAS

from imaas.model.settings import StackSettings
from imaas.spec import admission
from imaas.spec.admission import AdmissionRule, Parameter

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
ALLOWED_IMAGE = "docker.io/library/busybox:1.37.0"
PULUMI = "arn:aws:sts::123456789012:assumed-role/imaas-deploy/pulumi"
SETTINGS = StackSettings(
    environments=["dev", "test"],
    ingress_host_suffix="apps.example.com",
    ecr_registry=REGISTRY,
    image_allow_list=[ALLOWED_IMAGE],
    platform_identities=[PULUMI],
    argocd_impersonation=True,
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
    ("ingress-hosts", "an allowed annotation", ingress(
        annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/"}), DEPLOYER, True),
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
    *(
        ("ingress-hosts", f"annotation {name}", ingress(annotations={f"nginx.ingress.kubernetes.io/{name}": "x"}),
         DEPLOYER, False)
        for name in ("server-snippet", "configuration-snippet", "auth-snippet", "stream-snippet", "server-alias",
                     "auth-url", "auth-tls-secret", "proxy-ssl-secret")
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
        ("platform-only-monitoring", f"a tenant's {kind}", monitoring_object(kind), DEPLOYER, False)
        for kind in ("Prometheus", "PrometheusAgent", "Alertmanager", "ThanosRuler", "ScrapeConfig",
                     "AlertmanagerConfig")
    ),
    ("platform-only-monitoring", "the platform's AlertmanagerConfig", monitoring_object("AlertmanagerConfig"), PULUMI,
     True),
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
            group in match.api_groups and resource in match.resources and "CREATE" in match.operations
            for match in rule.matches
        ), (policy, obj["kind"])


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
            assert evaluate(condition["expression"], bindings({}, DEPLOYER, "CREATE", None))
    with pytest.raises(ValueError, match="deployer"):
        StackSettings.model_validate({**SETTINGS.model_dump(by_alias=True), "platformIdentities": [DEPLOYER]})


def test_every_message_expression_evaluates_to_text() -> None:
    variables = bindings({"kind": "Pod", "spec": pod_spec()}, DEPLOYER, "CREATE", None)
    for rule in RULES.values():
        for validation in rule.validations:
            if validation.message_expression:
                assert isinstance(evaluate(validation.message_expression, variables), str)


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_each_rule_reads_the_parameters_it_declares(rule: AdmissionRule) -> None:
    text = json.dumps(rule.policy_spec())
    seen = {
        Parameter.TENANT: "imaas.io/tenant" in text,
        Parameter.ENVIRONMENT: "imaas.io/environment" in text,
        Parameter.HOST_SUFFIX: SETTINGS.ingress_host_suffix in text,
        Parameter.REGISTRY: REGISTRY in text,
        Parameter.IMAGE_ALLOW_LIST: ALLOWED_IMAGE in text,
        Parameter.PLATFORM_IDENTITIES: PULUMI in text,
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
    for extension in (".?", "optional.", "matches(", "split(", "lowerAscii", "format(", "url(", "ip(", "cidr("):
        assert extension not in text


# What a policy refuses even in its smallest form, and why; every other rule admits the smallest object of each kind
# it matches.
REFUSES_THE_SMALLEST = {
    "ingress-hosts": "an Ingress without rules would answer for hosts that are not the tenant's",
    "no-endpoints": "only the cluster's controllers write Endpoints",
    "platform-only-monitoring": "these kinds are the platform's",
}


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_no_expression_fails_on_the_smallest_objects_of_the_kinds_it_matches(rule: AdmissionRule) -> None:
    # Under cel-go a field selected on an object that lacks it is an error, and an error refuses (failurePolicy
    # Fail): every optional field a rule reads is guarded. The objects hold what the kind's schema requires, then
    # the objects and lists the rule reads (their own fields unset), then every field it reads.
    for kind, operations in admission_kinds.matched_kinds(rule):
        for shape in admission_kinds.shapes(rule):
            obj = admission_kinds.minimal_object(kind, shape)
            for operation in operations:
                new, old = (None, obj) if operation == "DELETE" else (obj, obj if operation == "UPDATE" else None)
                verdict = admit(rule, new, operation=operation, old=old)
                assert not verdict.errors, (kind.kind, shape.name, operation, obj, verdict.errors)
                if shape.name == "required fields only":
                    refused = rule.name.removeprefix(admission.POLICY_PREFIX) in REFUSES_THE_SMALLEST
                    assert verdict.allowed is not refused, (kind.kind, operation, obj, verdict.messages)


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
