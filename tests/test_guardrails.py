"""The guardrails (DESIGN section 6): each with a compliant and a violating resource, through both entry points
(the offline plan and the policy pack), and a weakened component caught by `imaas plan`."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from planning import FIXTURE_TENANTS, PROJECT_DIR, example_plan, plan_stack
from pulumi_policy import PolicyResource, PolicyResourceOptions, StackValidationArgs
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy
from tokens import (
    ADMISSION_POLICY,
    ADMISSION_POLICY_BINDING,
    APP_PROJECT,
    NAMESPACE,
    NETWORK_POLICY,
    PRIORITY_CLASS,
    PROMETHEUS,
    RELEASE,
    ROLE,
    ROLE_BINDING,
    RULESET,
)
from typer.testing import CliRunner

from components import tenant_environment
from imaas import cli
from imaas.declarations import app_project
from imaas.guardrails import GUARDRAILS, Context, Resource, evaluate, stack_context
from imaas.inputs.stack_file import StackName, read_stack_file
from imaas.plan.guardrail_check import as_resource
from imaas_policies import guardrail_policies

runner = CliRunner()
MANDATORY = {guardrail.name for guardrail in GUARDRAILS if guardrail.mandatory}


def context(stack: str = "dev") -> Context:
    return stack_context(read_stack_file(PROJECT_DIR, stack), FIXTURE_TENANTS, StackName.parse(stack))


def resources(stack: str = "dev") -> list[Resource]:
    """A cluster's name: the whole cluster planned as one stack; `<cluster>.<tenant>`: that tenant's stack."""
    return [as_resource(resource) for resource in example_plan(stack).resources]


@functools.cache
def shared_stack(cluster: str) -> list[Resource]:
    return [as_resource(resource) for resource in plan_stack(cluster, whole_cluster=False).resources]


def violations(found: list[Resource], stack: str = "dev", judged: Context | None = None) -> set[tuple[str, str]]:
    judged = judged or context(stack)
    return {(v.policy, v.urn.rsplit("::", 1)[1]) for v in evaluate(found, judged) if v.mandatory}


def edited(found: list[Resource], type_: str, name: str, change: Callable[[Resource], Resource | None]) -> list:
    """The resources with the one of `type_` and `name` changed (None drops it)."""
    result = []
    for resource in found:
        if (resource.type, resource.name) == (type_, name):
            changed = change(replace(resource, inputs=copy.deepcopy(resource.inputs)))
            if changed is not None:
                result.append(changed)
        else:
            result.append(resource)
    assert result != found, f"no {type_} {name}"
    return result


def without_dependencies(resource: Resource, name_part: str) -> Resource:
    """The resource no longer waiting for the resources whose URN's name contains `name_part`."""
    kept = tuple(urn for urn in resource.depends_on if name_part not in urn.rsplit("::", 1)[1])
    assert kept != resource.depends_on, f"{resource.name} does not wait for {name_part}"
    return replace(resource, depends_on=kept)


def with_inputs(edit: Callable[[dict], None]) -> Callable[[Resource], Resource]:
    def change(resource: Resource) -> Resource:
        edit(resource.inputs)
        return resource

    return change


SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET = "kubernetes:core/v1:Secret"
DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey"
ORDERS_CREDENTIAL = "orders-order-sync-argocd-repository"


def with_credential(edit: Callable[[dict], None]) -> Callable[[Resource], Resource]:
    """Edit the fields of an Argo CD credential Secret, which the SDK holds marked secret."""
    return with_inputs(lambda i: edit(i["stringData"]["value"] if SECRET_SIG in i["stringData"] else i["stringData"]))


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_example_plans_break_no_mandatory_guardrail(stack: str) -> None:
    assert violations(resources(stack), stack) == set()


@pytest.mark.slow
def test_the_advisory_flags_a_quota_above_its_size_preset() -> None:
    advisories = [v for v in evaluate(resources(), context()) if not v.mandatory]
    assert {(v.policy, v.urn.rsplit("::", 1)[1]) for v in advisories} == {("quota-within-size", "payments-dev-quota")}


WEAKENINGS = {
    # The gate's status required from any App: a tenant maintainer's workflow could post it green.
    "promotion-gated": (
        RULESET,
        "imaas-prod-branches",
        with_inputs(lambda i: i["rules"]["requiredStatusChecks"]["requiredChecks"][1].pop("integrationId")),
        "imaas-prod-branches",
    ),
    "tenant-namespace-pod-security": (
        NAMESPACE,
        "orders-dev",
        with_inputs(lambda i: i["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "baseline"})),
        "orders-dev",
    ),
    "tenant-namespace-fenced": ("kubernetes:core/v1:ResourceQuota", "orders-dev-quota", lambda r: None, "orders-dev"),
    "argocd-project-confined": (
        "kubernetes:argoproj.io/v1alpha1:AppProject",
        "orders-project",
        with_inputs(lambda i: i["spec"]["sourceRepos"].append("git@github.com:example-org/orders-*")),
        "orders-project",
    ),
    # orders' credential pointed at payments' repository: orders' kustomize could then render it.
    "argocd-credentials-per-repository": (
        SECRET,
        ORDERS_CREDENTIAL,
        with_credential(lambda d: d.update(url="git@github.com:example-org/payments-card-gateway.git")),
        ORDERS_CREDENTIAL,
    ),
    "tenant-rbac-fenced": (
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "orders-dev-tenant-developer",
        with_inputs(lambda i: i["roleRef"].update({"kind": "ClusterRole", "name": "admin"})),
        "orders-dev-tenant-developer",
    ),
    # A policy that lost its TLS host check: the cluster would admit another tenant's host on a certificate.
    "admission-policies-bound": (
        ADMISSION_POLICY,
        "imaas-ingress-hosts",
        with_inputs(lambda i: i["spec"]["validations"].pop(1)),
        "imaas-ingress-hosts",
    ),
    # The platform's PodMonitor redirected to the scraper itself, as a hostile tenant's would be refused.
    "monitors-scrape-own-pods": (
        "kubernetes:monitoring.coreos.com/v1:PodMonitor",
        "orders-dev-pod-monitor",
        with_inputs(
            lambda i: i["spec"]["podMetricsEndpoints"][0].update(
                relabelings=[{"targetLabel": "__address__", "replacement": "127.0.0.1:9090"}]
            )
        ),
        "orders-dev-pod-monitor",
    ),
    # A tenant class that outranks and preempts everyone's pods.
    "tenant-priority-classes-declared": (
        PRIORITY_CLASS,
        "imaas-tenant",
        with_inputs(lambda i: i.update(value=2000000000, preemptionPolicy="PreemptLowerPriority")),
        "imaas-tenant",
    ),
    # An object of the platform's in a tenant namespace that the admission policy would take for the tenant's.
    "platform-objects-marked": (
        ROLE,
        "orders-dev-tenant-developer",
        with_inputs(lambda i: i["metadata"]["labels"].pop("app.kubernetes.io/managed-by")),
        "orders-dev-tenant-developer",
    ),
    "ecr-repository-safe": (
        "aws:ecr/repository:Repository",
        "orders/order-sync",
        with_inputs(lambda i: i.update({"imageTagMutability": "MUTABLE"})),
        "orders/order-sync",
    ),
    "ci-trust-exact": (
        "aws:iam/role:Role",
        "imaas-ci-orders-order-sync",
        with_inputs(
            lambda i: i.update(
                {
                    "assumeRolePolicy": i["assumeRolePolicy"]
                    .replace("StringEquals", "StringLike")
                    .replace(":ref:refs/heads/dev", ":ref:refs/heads/*")
                }
            )
        ),
        "imaas-ci-orders-order-sync",
    ),
    "data-holding-kept": (
        "github:index/repository:Repository",
        "orders-order-sync",
        lambda r: replace(r, protect=False, retain_on_delete=False),
        "orders-order-sync",
    ),
    # A component that forgets an ordering: the mock engine creates in any order, a real one in dependency order.
    "crds-before-custom-resources": (
        "kubernetes:monitoring.coreos.com/v1:PodMonitor",
        "orders-dev-pod-monitor",
        lambda r: without_dependencies(r, "prometheus-operator-crds"),
        "orders-dev-pod-monitor",
    ),
    "template-before-generated-repositories": (
        "github:index/repository:Repository",
        "orders-order-sync",
        lambda r: without_dependencies(r, "imaas-service-template"),
        "orders-order-sync",
    ),
    "branch-after-its-source": (
        "github:index/branch:Branch",
        "orders-order-sync-test",
        lambda r: without_dependencies(r, "orders-order-sync-default-branch"),
        "orders-order-sync-test",
    ),
    # An Application that leaves the autoscaler's bounds to the repository.
    "service-workload-from-tenant-file": (
        "kubernetes:argoproj.io/v1alpha1:Application",
        "orders-order-sync-dev",
        with_inputs(lambda i: i["spec"]["source"]["kustomize"]["patches"].pop()),
        "orders-order-sync-dev",
    ),
}


def _policy_edit(key: str, change: Callable[[dict], None]) -> Callable[[Resource], Resource]:
    """Edit the JSON policy document held as text in input `key`."""

    def edit(inputs: dict) -> None:
        document = json.loads(inputs[key])
        change(document)
        inputs[key] = json.dumps(document)

    return with_inputs(edit)


def _collector_edit(edit: Callable[[dict], None]) -> Callable[[Resource], Resource]:
    return with_inputs(lambda i: edit(i["values"]["alternateConfig"]))


def _route_another_tenants_namespace(config: dict) -> None:
    # The per-tenant routes are the job's file; one written into the Helm values is judged the same way.
    config.setdefault("exporters", {})["otlp/orders"] = {
        "endpoint": "tempo:4317",
        "headers": {"X-Scope-OrgID": "orders"},
    }
    config["service"]["pipelines"]["traces/orders"] = {"receivers": ["routing"], "exporters": ["otlp/orders"]}
    condition = 'attributes["k8s.namespace.name"] == "orders-dev" or attributes["k8s.namespace.name"] == "hr-dev"'
    config["connectors"]["routing"]["table"] = [{"condition": condition, "pipelines": ["traces/orders"]}]


PEER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "payments-dev"}}}


def _org_state_edit(edit: Callable[[dict], None]) -> Callable[[Resource], Resource]:
    def change(inputs: dict) -> None:
        state = json.loads(inputs["data"]["org.json"])
        edit(state)
        inputs["data"]["org.json"] = json.dumps(state)

    return with_inputs(change)


WEAKENINGS |= {
    "grafana-orgs-isolated": (
        "kubernetes:core/v1:ConfigMap",
        "orders-tenant-config",
        _org_state_edit(lambda s: s["datasources"][0]["secureJsonData"].update(httpHeaderValue1="hr")),
        "orders-tenant-config",
    ),
    "tenant-metrics-proxied": (
        "kubernetes:apps/v1:Deployment",
        "imaas-metrics-proxy",
        with_inputs(lambda i: i["spec"]["template"]["spec"]["containers"][0]["args"].append("-query-param=ns")),
        "imaas-metrics-proxy",
    ),
    # A collector that takes the namespace a span claims.
    "telemetry-per-tenant": (
        RELEASE,
        "opentelemetry-collector",
        _collector_edit(lambda c: c["processors"]["resource/untrusted"].update(attributes=[])),
        "opentelemetry-collector",
    ),
    "network-peers-exact": (
        NETWORK_POLICY,
        "orders-dev-isolation",
        with_inputs(lambda i: i["spec"]["egress"].append({})),
        "orders-dev-isolation",
    ),
    # Maintainers (admins of their repositories) could set the property themselves and leave the rules.
    "branch-rules-owner-properties": (
        "github:index/organizationCustomProperties:OrganizationCustomProperties",
        "imaas-service",
        with_inputs(lambda i: i.update({"valuesEditableBy": "org_and_repo_actors"})),
        "imaas-service",
    ),
    "ci-push-scoped": (
        "aws:iam/rolePolicy:RolePolicy",
        "imaas-ci-orders-order-sync-push",
        _policy_edit(
            "policy", lambda d: d["Statement"].append({"Effect": "Allow", "Action": "ecr:*", "Resource": "*"})
        ),
        "imaas-ci-orders-order-sync-push",
    ),
    "ecr-access-scoped": (
        "aws:ecr/repositoryPolicy:RepositoryPolicy",
        "orders/order-sync-access",
        _policy_edit(
            "policy", lambda d: d["Statement"].append({"Effect": "Allow", "Principal": "*", "Action": "ecr:*"})
        ),
        "orders/order-sync-access",
    ),
    # The tenants' Prometheus without its grant in the Alertmanager's namespace: alerts evaluated, never sent.
    "alerts-reach-alertmanager": (
        ROLE_BINDING,
        "prometheus-tenants-alertmanager",
        lambda r: None,
        "tenants-prometheus",
    ),
}


# What else a broken or weakened component could declare that DESIGN section 6 forbids, and the guardrail that
# must catch it: each a property of the resources, not of the program's current shape.
def _raise_max_replicas(patches: list[dict]) -> None:
    (autoscaler,) = [p for p in patches if p.get("target", {}).get("kind") == "HorizontalPodAutoscaler"]
    body = json.loads(autoscaler["patch"])
    body["spec"]["maxReplicas"] = 50
    autoscaler["patch"] = json.dumps(body)


# What tenant services need at run time (issue 30): a store role reading every tenant's path, a route taking
# another tenant's host.
SECRET_STORE_ROLE = "imaas-store-payments-dev"
DEV_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
WEAKENINGS |= {
    "tenant-secrets-scoped": (
        "aws:iam/rolePolicy:RolePolicy",
        f"{SECRET_STORE_ROLE}-read",
        _policy_edit(
            "policy", lambda d: d["Statement"][0].update(Resource="arn:aws:secretsmanager:*:*:secret:imaas/*")
        ),
        f"{SECRET_STORE_ROLE}-read",
    ),
    "tenant-routes-scoped": (
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "payments-dev-httproute-imaas-route-card-gateway",
        with_inputs(lambda i: i["spec"]["hostnames"].append("order-sync.orders.dev.apps.example.com")),
        "payments-dev-httproute-imaas-route-card-gateway",
    ),
}
EXTERNAL_SECRET = "payments-dev-externalsecret-imaas-secret-card-gateway.acquirer-api-key"
SECRET_STORE = "payments-dev-secretstore-imaas-secrets"


def _remote_key(key: str) -> Callable[[Resource], Resource]:
    return with_inputs(lambda i: i["spec"]["data"][0]["remoteRef"].update(key=key))


FORBIDDEN = [
    # Secrets: a store, role, writer or ExternalSecret that reaches another tenant's path, or another environment's.
    (
        "tenant-secrets-scoped",
        "kubernetes:external-secrets.io/v1:ExternalSecret",
        EXTERNAL_SECRET,
        _remote_key("imaas/orders/order-sync/dev/erp-password"),
    ),
    (
        "tenant-secrets-scoped",
        "kubernetes:external-secrets.io/v1:ExternalSecret",
        EXTERNAL_SECRET,
        _remote_key("imaas/payments/card-gateway/prod/acquirer-api-key"),
    ),
    (
        "tenant-secrets-scoped",
        "kubernetes:external-secrets.io/v1:ExternalSecret",
        EXTERNAL_SECRET,
        with_inputs(lambda i: i["spec"].update(dataFrom=[{"find": {"name": {"regexp": ".*"}}}])),
    ),
    (
        "tenant-secrets-scoped",
        "kubernetes:external-secrets.io/v1:ExternalSecret",
        EXTERNAL_SECRET,
        with_inputs(lambda i: i["spec"].update(secretStoreRef={"name": "shared", "kind": "ClusterSecretStore"})),
    ),
    (
        "tenant-secrets-scoped",
        "kubernetes:external-secrets.io/v1:SecretStore",
        SECRET_STORE,
        with_inputs(
            lambda i: i["spec"]["provider"]["aws"].update(role="arn:aws:iam::123456789012:role/imaas-store-orders-dev")
        ),
    ),
    (
        "tenant-secrets-scoped",
        "kubernetes:external-secrets.io/v1:SecretStore",
        SECRET_STORE,
        with_inputs(
            lambda i: i["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"].update(name="order-sync")
        ),
    ),
    (
        "tenant-secrets-scoped",
        "kubernetes:core/v1:ServiceAccount",
        "payments-dev-imaas-secrets",
        with_inputs(
            lambda i: i["metadata"]["annotations"].update(
                {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/imaas-store-orders-dev"}
            )
        ),
    ),
    (
        "tenant-secrets-scoped",
        "aws:iam/role:Role",
        SECRET_STORE_ROLE,
        _policy_edit(
            "assumeRolePolicy",
            lambda d: d["Statement"][0]["Condition"]["StringEquals"].update(
                {f"{DEV_ISSUER}:sub": "system:serviceaccount:orders-dev:imaas-secrets"}
            ),
        ),
    ),
    (
        "tenant-secrets-scoped",
        "aws:iam/role:Role",
        SECRET_STORE_ROLE,
        _policy_edit("assumeRolePolicy", lambda d: d["Statement"][0].update(Condition={})),
    ),
    (
        "tenant-secrets-scoped",
        "aws:iam/rolePolicy:RolePolicy",
        f"{SECRET_STORE_ROLE}-read",
        _policy_edit(
            "policy",
            lambda d: d["Statement"][0].update(Resource="arn:aws:secretsmanager:*:*:secret:imaas/payments/*/test/*"),
        ),
    ),
    (
        "tenant-secrets-scoped",
        "aws:iam/rolePolicy:RolePolicy",
        f"{SECRET_STORE_ROLE}-read",
        _policy_edit("policy", lambda d: d["Statement"][0].update(Action=["secretsmanager:*"])),
    ),
    (
        "tenant-secrets-scoped",
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        "imaas-payments-dev-write",
        _policy_edit(
            "inlinePolicy",
            lambda d: d["Statement"][0].update(Resource="arn:aws:secretsmanager:*:*:secret:imaas/payments*"),
        ),
    ),
    (
        "tenant-secrets-scoped",
        "aws:ssoadmin/permissionSetInlinePolicy:PermissionSetInlinePolicy",
        "imaas-payments-dev-write",
        _policy_edit(
            "inlinePolicy",
            lambda d: d["Statement"][0].update(
                Action=["secretsmanager:PutSecretValue", "secretsmanager:GetSecretValue"]
            ),
        ),
    ),
    (
        "tenant-secrets-scoped",
        "aws:secretsmanager/secret:Secret",
        "imaas/payments/card-gateway/dev/acquirer-api-key",
        lambda r: replace(r, retain_on_delete=False),
    ),
    # Routes: a host or a parent of another tenant's.
    (
        "tenant-routes-scoped",
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "payments-dev-httproute-imaas-route-card-gateway",
        with_inputs(
            lambda i: i["spec"]["parentRefs"][0].update(kind="Gateway", name="imaas-tenants", namespace="imaas-gateway")
        ),
    ),
    (
        "tenant-routes-scoped",
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "payments-dev-httproute-imaas-route-card-gateway",
        with_inputs(lambda i: i["spec"]["parentRefs"][0].update(namespace="orders-dev")),
    ),
    (
        "tenant-routes-scoped",
        "kubernetes:gateway.networking.k8s.io/v1:ListenerSet",
        "payments-dev-listenerset-imaas-routes",
        with_inputs(lambda i: i["spec"]["listeners"][0].update(hostname="*.orders.dev.apps.example.com")),
    ),
    (
        "tenant-routes-scoped",
        "kubernetes:cert-manager.io/v1:Certificate",
        "payments-dev-certificate-imaas-tls-card-gateway",
        with_inputs(lambda i: i["spec"]["dnsNames"].append("order-sync.orders.dev.apps.example.com")),
    ),
    # Connections: a service's egress policy opening a private range it does not declare (with the internet open, a
    # public range is the internet's anyway: tests/test_connections.py checks the closed case).
    (
        "network-peers-exact",
        NETWORK_POLICY,
        "payments-dev-imaas-service-card-gateway",
        with_inputs(lambda i: i["spec"]["egress"][0]["to"][0]["ipBlock"].update(cidr="10.20.0.0/16")),
    ),
    (
        "network-peers-exact",
        NETWORK_POLICY,
        "hr-dev-isolation",
        with_inputs(lambda i: i["spec"]["egress"][2]["to"][0]["ipBlock"]["except"].remove("100.64.0.0/10")),
    ),
    (
        "tenant-rbac-fenced",
        ROLE,
        "orders-dev-tenant-developer",
        with_inputs(
            lambda i: i["rules"].append(
                {"apiGroups": ["external-secrets.io"], "resources": ["secretstores"], "verbs": ["create"]}
            )
        ),
    ),
    (
        "tenant-rbac-fenced",
        ROLE,
        "orders-dev-tenant-developer",
        with_inputs(
            lambda i: i["rules"].append(
                {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["listenersets"], "verbs": ["create"]}
            )
        ),
    ),
    (
        "promotion-gated",
        RULESET,
        "imaas-test-branches",
        with_inputs(lambda i: i["rules"]["requiredStatusChecks"]["requiredChecks"].pop(1)),
    ),
    (
        "promotion-gated",
        RULESET,
        "imaas-prod-branches",
        with_inputs(lambda i: i["rules"]["requiredStatusChecks"]["requiredChecks"][0].update(integrationId=0)),
    ),
    (
        "promotion-gated",
        RULESET,
        "imaas-prod-branches",
        with_inputs(
            lambda i: i["bypassActors"].append({"actorType": "RepositoryRole", "actorId": 5, "bypassMode": "always"})
        ),
    ),
    (
        "promotion-gated",
        RULESET,
        "imaas-test-branches",
        with_inputs(lambda i: i["rules"].pop("pullRequest")),
    ),
    # A credential without a project: Argo CD's fallback for every project.
    ("argocd-credentials-per-repository", SECRET, ORDERS_CREDENTIAL, with_credential(lambda d: d.pop("project"))),
    # The organisation as the URL, or the credential turned into a template: a prefix reaching every repository.
    (
        "argocd-credentials-per-repository",
        SECRET,
        ORDERS_CREDENTIAL,
        with_credential(lambda d: d.update(url="git@github.com:example-org/")),
    ),
    (
        "argocd-credentials-per-repository",
        SECRET,
        ORDERS_CREDENTIAL,
        with_inputs(lambda i: i["metadata"]["labels"].update({"argocd.argoproj.io/secret-type": "repo-creds"})),
    ),
    # Its own repository, but for another tenant's project; and a project that is no tenant.
    ("argocd-credentials-per-repository", SECRET, ORDERS_CREDENTIAL, with_credential(lambda d: d.update(project="hr"))),
    (
        "argocd-credentials-per-repository",
        SECRET,
        ORDERS_CREDENTIAL,
        with_credential(lambda d: d.update(project="default")),
    ),
    # Another tenant's repository by Argo CD's own reading of URLs (case, `.git`, `ssh://`).
    (
        "argocd-credentials-per-repository",
        SECRET,
        ORDERS_CREDENTIAL,
        with_credential(lambda d: d.update(url="ssh://git@github.com/Example-Org/payments-card-gateway")),
    ),
    (
        "argocd-credentials-per-repository",
        DEPLOY_KEY,
        "orders-order-sync-argocd-deploy-key",
        with_inputs(lambda i: i.update(readOnly=False)),
    ),
    # A namespace that leaves one of its tenant's groups out: its members could edit the platform's objects.
    (
        "platform-objects-marked",
        NAMESPACE,
        "orders-dev",
        with_inputs(lambda i: i["metadata"]["annotations"].update({"imaas.io/tenant-groups": ""})),
    ),
    (
        "monitors-scrape-own-pods",
        "kubernetes:monitoring.coreos.com/v1:PodMonitor",
        "orders-dev-pod-monitor",
        with_inputs(lambda i: i["spec"]["podMetricsEndpoints"][0].update(proxyUrl="http://localhost:9090")),
    ),
    (
        "tenant-priority-classes-declared",
        PRIORITY_CLASS,
        "imaas-tenant-low",
        with_inputs(lambda i: i.update(globalDefault=True)),
    ),
    # A Prometheus switched to EndpointSlice discovery, which its grant (endpoints) does not cover.
    (
        "alerts-reach-alertmanager",
        PROMETHEUS,
        "tenants-prometheus",
        with_inputs(lambda i: i["spec"].update(serviceDiscoveryRole="EndpointSlice")),
    ),
    # Bounds other than the tenant file's: the capacity validate checked would not be what runs.
    (
        "service-workload-from-tenant-file",
        "kubernetes:argoproj.io/v1alpha1:Application",
        "orders-order-sync-dev",
        with_inputs(lambda i: _raise_max_replicas(i["spec"]["source"]["kustomize"]["patches"])),
    ),
    (
        "telemetry-per-tenant",
        RELEASE,
        "opentelemetry-collector",
        _collector_edit(lambda c: c["service"]["pipelines"]["traces"]["processors"].remove("resource/untrusted")),
    ),
    (
        "telemetry-per-tenant",
        RELEASE,
        "opentelemetry-collector",
        _collector_edit(_route_another_tenants_namespace),
    ),
    (
        "telemetry-per-tenant",
        RELEASE,
        "opentelemetry-collector",
        _collector_edit(lambda c: c["connectors"]["routing"].update(default_pipelines=["traces/orders"])),
    ),
    (
        "telemetry-per-tenant",
        RELEASE,
        "kube-prometheus-stack",
        with_inputs(
            lambda i: i["values"]["alertmanager"]["alertmanagerSpec"].update(
                alertmanagerConfigMatcherStrategy={"type": "None"}
            )
        ),
    ),
    (
        "ci-trust-exact",
        "aws:iam/role:Role",
        "imaas-ci-orders-order-sync",
        _policy_edit(
            "assumeRolePolicy",
            lambda d: d["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"].append(
                "repository_id:1:ref:refs/heads/dev"
            ),
        ),
    ),
    (
        "ci-trust-exact",
        "aws:iam/role:Role",
        "imaas-ci-orders-order-sync",
        _policy_edit(
            "assumeRolePolicy",
            lambda d: d["Statement"].append({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
        ),
    ),
    (
        "network-peers-exact",
        NETWORK_POLICY,
        "hr-dev-isolation",
        with_inputs(lambda i: i["spec"]["ingress"][0]["from"].append(PEER)),
    ),
    (
        "network-peers-exact",
        NETWORK_POLICY,
        "hr-dev-isolation",
        with_inputs(lambda i: i["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]})),
    ),
    (
        # The world, except a range of the other address family: it excepts none of the cluster's ranges.
        "network-peers-exact",
        NETWORK_POLICY,
        "hr-dev-isolation",
        with_inputs(
            lambda i: i["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["fd00::/8"]}}]})
        ),
    ),
    (
        "tenant-rbac-fenced",
        ROLE_BINDING,
        "orders-dev-tenant-developer",
        with_inputs(
            lambda i: i["subjects"].append(
                {"kind": "ServiceAccount", "name": "argocd-deployer", "namespace": "payments-dev"}
            )
        ),
    ),
    (
        "tenant-rbac-fenced",
        ROLE_BINDING,
        "orders-dev-tenant-developer",
        with_inputs(
            lambda i: i["subjects"].append(
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}
            )
        ),
    ),
    (
        "tenant-rbac-fenced",
        ROLE,
        "orders-dev-tenant-developer",
        with_inputs(lambda i: i["rules"].append({"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]})),
    ),
    (
        "tenant-rbac-fenced",
        ROLE,
        "orders-dev-tenant-developer",
        with_inputs(lambda i: i["rules"].append({"apiGroups": [""], "resources": ["namespaces"], "verbs": ["patch"]})),
    ),
    (
        "argocd-project-confined",
        APP_PROJECT,
        "orders-project",
        with_inputs(
            lambda i: i["spec"]["destinationServiceAccounts"][0].update({"defaultServiceAccount": "kube-system:admin"})
        ),
    ),
    (
        "argocd-project-confined",
        APP_PROJECT,
        "orders-project",
        with_inputs(
            lambda i: i["spec"]["roles"][0]["policies"].append("p, proj:orders:developers, applications, *, */*, allow")
        ),
    ),
    (
        "argocd-project-confined",
        APP_PROJECT,
        "orders-project",
        with_inputs(lambda i: i["spec"].update({"sourceNamespaces": ["*"]})),
    ),
]


@pytest.mark.parametrize(
    ("policy", "type_", "name", "change"), FORBIDDEN, ids=lambda v: v if isinstance(v, str) else ""
)
@pytest.mark.slow
def test_what_section_6_forbids_is_caught_by_its_guardrail(
    policy: str, type_: str, name: str, change: Callable
) -> None:
    assert violations(edited(resources(), type_, name, change)) == {(policy, name)}


@pytest.mark.slow
def test_a_discovery_grant_limited_to_names_does_not_let_prometheus_find_its_alertmanager() -> None:
    """Discovery lists and watches, which a grant limited to resource names does not allow; and a grant of the
    right resources bound to another account helps no one."""
    limited = with_inputs(lambda i: i["rules"][0].update(resourceNames=["kube-prometheus-stack-alertmanager"]))
    found = edited(resources(), ROLE, "prometheus-tenants-alertmanager", limited)
    assert violations(found) == {("alerts-reach-alertmanager", "tenants-prometheus")}
    other = with_inputs(lambda i: i["subjects"][0].update(name="default"))
    found = edited(resources(), ROLE_BINDING, "prometheus-tenants-alertmanager", other)
    assert violations(found) == {("alerts-reach-alertmanager", "tenants-prometheus")}


@pytest.mark.fast
def test_every_mandatory_guardrail_has_a_violating_example() -> None:
    assert set(WEAKENINGS) == MANDATORY


@pytest.mark.slow
@pytest.mark.parametrize("policy", sorted(WEAKENINGS))
def test_each_weakening_breaks_exactly_its_guardrail(policy: str) -> None:
    type_, name, change, culprit = WEAKENINGS[policy]
    assert violations(edited(resources(), type_, name, change)) == {(policy, culprit)}


DEV_STACKS = ["dev", "dev.hr", "dev.orders", "dev.payments"]


def stack_resources(stack: str) -> list[Resource]:
    return shared_stack(stack) if "." not in stack else resources(stack)


def holding(type_: str, name: str) -> str:
    """The stack of the new layout that declares the resource."""
    return next(s for s in DEV_STACKS if any((r.type, r.name) == (type_, name) for r in stack_resources(s)))


def template_renamed(resource: Resource) -> Resource:
    resource.inputs["template"]["repository"] = "another-template"
    return resource


# Across stacks there is no dependency to drop: what a tenant stack needs of the wave before is weakened instead.
STACK_WEAKENINGS: dict[str, tuple[str, str, Callable[[Resource], Resource | None] | None, dict[str, object]]] = {
    policy: (type_, name, change, {}) for policy, (type_, name, change, _) in WEAKENINGS.items()
} | {
    # The tenants' Prometheus, in the shared stack, before the release of its CRDs: every custom resource of a tenant
    # stack is of a group that the wave before installs (or the cluster runs).
    "crds-before-custom-resources": (
        "kubernetes:monitoring.coreos.com/v1:Prometheus",
        "tenants-prometheus",
        lambda r: without_dependencies(without_dependencies(r, "prometheus-operator-crds"), "kube-prometheus-stack"),
        {},
    ),
    "template-before-generated-repositories": (
        "github:index/repository:Repository",
        "orders-order-sync",
        template_renamed,
        {},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("stack", DEV_STACKS)
def test_the_stacks_of_the_new_layout_break_no_mandatory_guardrail(stack: str) -> None:
    assert violations(stack_resources(stack), stack) == set()


@pytest.mark.slow
@pytest.mark.parametrize("policy", sorted(WEAKENINGS))
def test_each_weakening_breaks_exactly_its_guardrail_in_the_stack_holding_it(policy: str) -> None:
    type_, name, change, settings = STACK_WEAKENINGS[policy]
    stack = holding(type_, name)
    judged = context(stack)
    if settings:
        judged = replace(judged, settings=judged.settings.model_copy(update=settings))
    weakened = stack_resources(stack) if change is None else edited(stack_resources(stack), type_, name, change)
    found = violations(weakened, stack, judged)
    assert found and {policy for policy, _ in found} == {policy}, (stack, found)


@pytest.mark.slow
def test_a_release_whose_chart_creates_custom_resources_waits_for_the_release_of_their_crds() -> None:
    # kube-prometheus-stack creates its Prometheus, Alertmanager and monitors without their CRDs (crds.enabled
    # false), and Helm builds every object before any hook runs: a fresh cluster refuses the whole release.
    found = edited(
        resources(),
        "kubernetes:helm.sh/v3:Release",
        "kube-prometheus-stack",
        lambda r: without_dependencies(r, "prometheus-operator-crds"),
    )
    assert violations(found) == {("crds-before-custom-resources", "kube-prometheus-stack")}


@pytest.mark.slow
def test_a_template_that_publishes_no_version_leaves_every_generated_repository_refused() -> None:
    # Without its publication the template holds only GitHub's initial commit when the first repositories are made.
    found = edited(resources(), "command:local:Command", "imaas-service-template-version", lambda r: None)
    generated = {name for policy, name in violations(found) if policy == "template-before-generated-repositories"}
    assert generated == {r.name for r in found if (r.inputs.get("template") or {}).get("repository")} != set()


@pytest.mark.slow
def test_a_project_reaching_a_tenant_sharing_its_prefix_is_refused() -> None:
    found = edited(
        resources(),
        "kubernetes:argoproj.io/v1alpha1:AppProject",
        "payments-project",
        with_inputs(
            lambda i: i["spec"]["destinations"].append(
                {"server": "https://kubernetes.default.svc", "namespace": "orders-dev"}
            )
        ),
    )
    assert violations(found) == {("argocd-project-confined", "payments-project")}


@pytest.mark.slow
def test_a_trust_admitting_another_tenants_repository_is_refused() -> None:
    def widen(inputs: dict) -> None:
        policy = json.loads(inputs["assumeRolePolicy"])
        sub = policy["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
        sub.append("repo:example-org/payments-card-gateway:ref:refs/heads/dev")
        inputs["assumeRolePolicy"] = json.dumps(policy)

    found = edited(resources(), "aws:iam/role:Role", "imaas-ci-orders-order-sync", with_inputs(widen))
    assert violations(found) == {("ci-trust-exact", "imaas-ci-orders-order-sync")}


@pytest.mark.slow
def test_the_former_organisation_wide_credential_is_refused_as_is_one_in_the_argo_cd_chart() -> None:
    organisation = Resource(
        "urn:pulumi:dev::imaas::kubernetes:core/v1:Secret::argocd-repository-credential",
        SECRET,
        "argocd-repository-credential",
        {
            "metadata": {"name": "imaas-github-repositories", "namespace": "argocd",
                         "labels": {"argocd.argoproj.io/secret-type": "repo-creds"}},
            "stringData": {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270",
                           "value": {"type": "git", "url": "https://github.com/example-org/"}},
        },
        False,
        False,
    )  # fmt: skip
    assert violations([*resources(), organisation]) == {
        ("argocd-credentials-per-repository", "argocd-repository-credential")
    }
    # The same through the chart's values, which the plan shows as values rather than as Secrets.
    release = Resource(
        "urn:pulumi:dev::imaas::kubernetes:helm.sh/v3:Release::argocd",
        RELEASE,
        "argocd",
        {"chart": "argo-cd", "values": {"configs": {
            "credentialTemplates": {"org": {"url": "https://github.com/example-org"}},
            "repositories": {"mine": {"url": "git@github.com:example-org/orders-order-sync.git"}},
        }}},
        False,
        False,
    )  # fmt: skip
    messages = [v.message for v in evaluate([*resources(), release], context()) if v.urn == release.urn]
    assert messages == [
        "configs.credentialTemplates.org is a repo-creds credential, a URL prefix",
        "configs.repositories.mine: repository credential has no project: Argo CD uses a repository credential without "
        "one for every project",
    ]


@pytest.mark.slow
def test_a_credential_given_as_base64_data_is_read_as_argo_cd_reads_it() -> None:
    import base64

    def as_data(inputs: dict) -> None:
        fields = inputs.pop("stringData")["value"]
        fields["project"] = "payments"
        inputs["data"] = {key: base64.b64encode(value.encode()).decode() for key, value in fields.items()}

    found = edited(resources(), SECRET, ORDERS_CREDENTIAL, with_inputs(as_data))
    assert violations(found) == {("argocd-credentials-per-repository", ORDERS_CREDENTIAL)}


@pytest.mark.slow
def test_a_cluster_wide_binding_of_a_tenant_group_is_refused() -> None:
    binding = Resource(
        "urn:pulumi:dev::imaas::kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding::sneaky",
        "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",
        "sneaky",
        {"subjects": [{"kind": "Group", "name": "orders-devs"}], "roleRef": {"kind": "ClusterRole", "name": "view"}},
        False,
        False,
    )
    assert violations([*resources(), binding]) == {("tenant-rbac-fenced", "sneaky")}


# --- the policy pack entry point ------------------------------------------------------------------------------


def policy_resources(found: list[Resource], props: Callable[[dict], object] = dict) -> list[PolicyResource]:
    """The resources as the engine hands them to a stack policy, dependencies as the resource objects they name."""
    by_urn = {
        r.urn: PolicyResource(
            r.type,
            props(r.inputs),
            r.urn,
            r.name,
            PolicyResourceOptions(r.protect, [], None, [], None, []),
            None,
            None,
            [],
            {},
        )
        for r in found
    }
    for r in found:
        by_urn[r.urn].dependencies.extend(by_urn[urn] for urn in r.depends_on if urn in by_urn)
    return list(by_urn.values())


def run_pack(found: list[Resource], props: Callable[[dict], object] = dict) -> set[tuple[str, str]]:
    reported: set[tuple[str, str]] = set()
    for policy in guardrail_policies(lambda stack: context(stack)):
        if policy.enforcement_level.value != "mandatory":
            continue
        args = StackValidationArgs(policy_resources(found, props))
        policy.validate(args, lambda message, urn, name=policy.name: reported.add((name, urn.rsplit("::", 1)[1])))
    return reported


@pytest.mark.slow
def test_the_policy_pack_runs_the_same_rules() -> None:
    assert {policy.name for policy in guardrail_policies(lambda stack: context(stack))} == {g.name for g in GUARDRAILS}
    assert run_pack(resources()) == set()
    type_, name, change, culprit = WEAKENINGS["argocd-project-confined"]
    assert run_pack(edited(resources(), type_, name, change)) == {("argocd-project-confined", culprit)}


@pytest.mark.slow
def test_the_policy_pack_accepts_protection_alone_since_it_cannot_see_retain_on_delete() -> None:
    found = [replace(r, retain_on_delete=None) for r in resources()]
    assert run_pack(found) == set()
    type_, name, change, culprit = WEAKENINGS["data-holding-kept"]
    assert run_pack(edited(found, type_, name, change)) == {("data-holding-kept", culprit)}


# --- imaas plan ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_plan_exits_1_when_a_component_drops_the_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    original = tenant_environment.declare_limits

    def regression(namespace: str, *rest: object) -> list:
        # A test double for a regression: one namespace loses its quota and limit range.
        return [] if namespace == "hr-test" else original(namespace, *rest)

    monkeypatch.setattr(tenant_environment, "declare_limits", regression)
    result = runner.invoke(cli.app, ["plan", "--stack", "dev.hr", "--tenants", str(FIXTURE_TENANTS)])
    assert result.exit_code == 1
    messages = (
        "no ResourceQuota with services.nodeports and services.loadbalancers at 0",
        "no ResourceQuota bounding all of configmaps, count/cronjobs.batch",
        "no LimitRange",
    )
    for message in messages:
        assert f"tenant-namespace-fenced: tenant hr: kubernetes:Namespace hr-test: {message}" in result.output
    assert "3 mandatory guardrail violations" in result.output


@pytest.mark.slow
def test_plan_exits_1_when_a_component_widens_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    original = app_project.app_project_spec

    def widened(*args: Any) -> dict:
        spec = original(*args)
        return {**spec, "sourceRepos": ["*"]}

    monkeypatch.setattr(app_project, "app_project_spec", widened)
    result = runner.invoke(cli.app, ["plan", "--stack", "prod.orders", "--tenants", str(FIXTURE_TENANTS)])
    assert result.exit_code == 1
    assert "argocd-project-confined: tenant orders: kubernetes:AppProject orders-project: source '*' is not one" in (
        result.output
    )


@pytest.mark.slow
def test_plan_of_the_examples_passes_the_guardrails() -> None:
    result = runner.invoke(cli.app, ["plan", "--stack", "prod", "--tenants", str(FIXTURE_TENANTS)])
    assert result.exit_code == 0, result.output
    assert "violation" not in result.output


@pytest.mark.slow
def test_an_allow_all_ingress_rule_breaks_the_fence() -> None:
    found = edited(
        resources(),
        "kubernetes:networking.k8s.io/v1:NetworkPolicy",
        "hr-dev-isolation",
        with_inputs(lambda i: i["spec"]["ingress"].append({})),
    )
    # The namespace is no longer fenced, and the policy admits whom it may not: both rules say so.
    assert violations(found) == {("tenant-namespace-fenced", "hr-dev"), ("network-peers-exact", "hr-dev-isolation")}


DEV_TENANT_NAMESPACES = {"orders-dev", "orders-test", "payments-dev", "hr-dev", "hr-test"}


HR = {"hr-dev", "hr-test"}


@pytest.mark.parametrize(
    ("change", "uncovered"),
    [
        (lambda spec: spec.update({"validationActions": ["Warn"]}), DEV_TENANT_NAMESPACES),
        (lambda m: m["matchResources"].update({"objectSelector": {"matchLabels": {"a": "b"}}}), DEV_TENANT_NAMESPACES),
        (lambda m: m["matchResources"].update({"namespaceSelector": {"matchLabels": {"imaas.io/tenant": "hr"}}}),
         DEV_TENANT_NAMESPACES - HR),
        (lambda m: m["matchResources"].update({"excludeResourceRules": [{"resources": ["pods"]}]}),
         DEV_TENANT_NAMESPACES),
    ],
    ids=["warn only", "object selector", "one tenant only", "excluded resources"],
)  # fmt: skip
@pytest.mark.slow
def test_a_binding_that_leaves_tenant_namespaces_unchecked_is_refused_for_each(
    change: Callable, uncovered: set[str]
) -> None:
    found = edited(
        resources(), ADMISSION_POLICY_BINDING, "imaas-image-registry", with_inputs(lambda i: change(i["spec"]))
    )
    # The shared stack's own check (the binding as defined) and each namespace it leaves.
    expected = {("admission-policies-bound", name) for name in {*uncovered, "imaas"}}
    assert violations(found) == expected


@pytest.mark.slow
def test_a_missing_policy_leaves_every_tenant_namespace_uncovered() -> None:
    found = edited(resources(), ADMISSION_POLICY, "imaas-no-endpoints", lambda r: None)
    expected = {("admission-policies-bound", name) for name in {*DEV_TENANT_NAMESPACES, "imaas"}}
    assert violations(found) == expected


@pytest.mark.slow
def test_a_namespace_that_lost_its_labels_is_still_a_tenant_namespace() -> None:
    found = edited(resources(), NAMESPACE, "hr-dev", with_inputs(lambda i: i["metadata"].update({"labels": {}})))
    # The admission policies read its tenant from the labels, and their bindings select by them.
    assert violations(found) == {("tenant-namespace-pod-security", "hr-dev"), ("admission-policies-bound", "hr-dev")}


@pytest.mark.slow
def test_a_binding_in_a_namespace_that_only_shares_the_tenants_prefix_is_refused() -> None:
    # orders-devs bound in a namespace named like one of orders' but not one of them.
    found = edited(
        resources(),
        "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding",
        "orders-dev-tenant-developer",
        with_inputs(lambda i: i["metadata"].update({"namespace": "orders-x-dev"})),
    )
    assert violations(found) == {("tenant-rbac-fenced", "orders-dev-tenant-developer")}


@pytest.mark.slow
def test_the_policy_pack_judges_what_is_known_when_some_values_are_not() -> None:
    # As in a preview of a new tenant: the push policy's repository ARNs are not known yet.
    weakened = edited(
        resources(),
        NAMESPACE,
        "orders-dev",
        with_inputs(lambda i: i["metadata"]["labels"].update({"pod-security.kubernetes.io/enforce": "privileged"})),
    )
    unknown = [
        replace(r, inputs={**r.inputs, "policy": UNKNOWN_STRING_VALUE}) if r.type.endswith("RolePolicy") else r
        for r in weakened
    ]
    assert run_pack(unknown, unknown_checking_proxy) == {("tenant-namespace-pod-security", "orders-dev")}
