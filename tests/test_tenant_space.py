"""Each tenant's Kubernetes space is isolated (DESIGN section 6), on every stack, for the example tenants and for
generated ones: Pod Security, quota, limits, network policy, RBAC and the Argo CD project."""

from __future__ import annotations

from collections import defaultdict
from fnmatch import fnmatchcase
from pathlib import Path

import pytest
from helpers import write_tenants
from planning import FIXTURE_TENANTS, PROJECT_DIR, example_plan, of_type, plan_stack
from tokens import APP_PROJECT, LIMITS, NAMESPACE, NETWORK_POLICY, QUOTA, ROLE, ROLE_BINDING, SERVICE_ACCOUNT

from imaas.checks.tenants import load_tenants
from imaas.declarations import promotion
from imaas.inputs.stack_file import read_stack_file
from imaas.model.quantity import parse_quantity
from imaas.plan.record import Plan, PlannedResource

pytestmark = pytest.mark.slow

FENCE = {"resourcequotas", "limitranges", "networkpolicies", "roles", "rolebindings", "clusterroles",
         "clusterrolebindings"}  # fmt: skip
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate", "*"}
PLATFORM_NAMESPACES = {"ingress-nginx", "observability"}
# Tenant pods reach the observability stack only at its trace collector's pods, a pod-scoped peer like DNS (on the
# OTLP ports only: see test_observability.py), so no namespace of the stack is a peer of theirs.
OBSERVABILITY: set[str] = set()
SERVER = "https://kubernetes.default.svc"


def in_namespace(plan: Plan, type_: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for resource in of_type(plan, type_):
        found[resource.inputs["metadata"]["namespace"]].append(resource.inputs)
    return found


def tenant_objects(plan: Plan, type_: str) -> list[PlannedResource]:
    """Objects of `type_` a tenant component declares (the platform's own, like its observability namespace,
    are not a tenant's)."""
    return [resource for resource in of_type(plan, type_) if "$imaas:index:Tenant$" in resource.urn]


def tenant_namespaces(plan: Plan) -> list[str]:
    return [resource.name for resource in tenant_objects(plan, NAMESPACE)]


def selected_namespaces(peers: list[dict]) -> set[str]:
    return {peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] for peer in peers
            if "kubernetes.io/metadata.name" in peer.get("namespaceSelector", {}).get("matchLabels", {})
            and "podSelector" not in peer}  # fmt: skip


def tenant_environments(peers: list[dict]) -> set[str]:
    """The environments of which a peer selects every tenant namespace (by the labels only the platform sets)."""
    return {peer["namespaceSelector"]["matchLabels"]["imaas.io/environment"] for peer in peers
            if peer.get("namespaceSelector", {}).get("matchExpressions")
            == [{"key": "imaas.io/tenant", "operator": "Exists"}]}  # fmt: skip


def policy_of(plan: Plan, namespace: str) -> dict:
    """The namespace's fence (its services' own egress and exposure policies aside)."""
    (policy,) = [
        p for p in in_namespace(plan, NETWORK_POLICY)[namespace] if p["metadata"]["name"] == "tenant-isolation"
    ]
    return policy


def ingress_from(plan: Plan, namespace: str) -> set[str]:
    return {ns for rule in policy_of(plan, namespace)["spec"]["ingress"] for ns in selected_namespaces(rule["from"])}


def egress_to(plan: Plan, namespace: str) -> set[str]:
    return {ns for rule in policy_of(plan, namespace)["spec"]["egress"] for ns in selected_namespaces(rule["to"])}


def egress_to_tenants_of(plan: Plan, namespace: str) -> set[str]:
    return {env for rule in policy_of(plan, namespace)["spec"]["egress"] for env in tenant_environments(rule["to"])}


# --- per namespace, for every example tenant on both stacks --------------------------------------------------------


def test_every_tenant_namespace_enforces_pod_security_restricted(stack: str) -> None:
    for resource in tenant_objects(example_plan(stack), NAMESPACE):
        labels = resource.inputs["metadata"]["labels"]
        for mode in ("enforce", "audit", "warn"):
            assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted", (resource.name, mode)


def test_every_tenant_namespace_has_its_quota_with_no_node_ports_or_load_balancers(stack: str) -> None:
    plan = example_plan(stack)
    settings = read_stack_file(PROJECT_DIR, stack).settings
    tenants = {tenant.name: tenant for tenant in load_tenants(FIXTURE_TENANTS)}
    quotas = in_namespace(plan, QUOTA)
    for namespace in tenant_namespaces(plan):
        (quota,) = quotas[namespace]
        tenant = tenants[namespace.rsplit("-", 1)[0]]
        expected = settings.quota_for(tenant.spec.size, tenant.spec.quota)
        hard = quota["spec"]["hard"]
        assert hard["services.nodeports"] == hard["services.loadbalancers"] == "0"
        assert (hard["requests.cpu"], hard["limits.cpu"]) == (expected.cpu, expected.cpu)
        assert (hard["requests.memory"], hard["limits.memory"]) == (expected.memory, expected.memory)
        assert (hard["requests.storage"], hard["pods"]) == (expected.storage, str(expected.pods))
        disk = (hard["requests.ephemeral-storage"], hard["limits.ephemeral-storage"])
        assert disk == (expected.ephemeral_storage, expected.ephemeral_storage)
        counts = ("persistentvolumeclaims", "configmaps", "secrets", "services", "count/deployments.apps",
                  "count/statefulsets.apps", "count/jobs.batch", "count/cronjobs.batch",
                  "count/ingresses.networking.k8s.io", "count/servicemonitors.monitoring.coreos.com",
                  "count/podmonitors.monitoring.coreos.com")  # fmt: skip
        for count in counts:
            assert int(hard[count]) > 0, (namespace, count)


def test_payments_explicit_quota_overrides_its_size_on_each_stack(stack: str) -> None:
    (quota,) = in_namespace(example_plan(stack), QUOTA)[f"payments-{'dev' if stack == 'dev' else 'prod'}"]
    small = read_stack_file(PROJECT_DIR, stack).settings.sizes["small"]
    hard = quota["spec"]["hard"]
    assert (hard["requests.cpu"], hard["requests.memory"]) == ("24", "12Gi")
    assert (hard["pods"], hard["requests.storage"]) == (str(small.pods), small.storage)


def test_every_tenant_namespace_has_container_defaults_within_its_limits(stack: str) -> None:
    plan = example_plan(stack)
    limit_ranges = in_namespace(plan, LIMITS)
    for namespace in tenant_namespaces(plan):
        (limit_range,) = limit_ranges[namespace]
        (container,) = [item for item in limit_range["spec"]["limits"] if item["type"] == "Container"]
        for resource in ("cpu", "memory", "ephemeral-storage"):
            request, limit = container["defaultRequest"][resource], container["default"][resource]
            assert parse_quantity(request) <= parse_quantity(limit) <= parse_quantity(container["max"][resource])


def test_a_tiny_quota_lowers_the_container_defaults(tmp_path: Path) -> None:
    plan = plan_stack("prod", write_tenants(tmp_path, tiny={"quota": {"cpu": "250m", "memory": "256Mi"}}))
    (limit_range,) = in_namespace(plan, LIMITS)["tiny-prod"]
    container = limit_range["spec"]["limits"][0]
    assert container["default"] == {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "1Gi"}
    assert container["defaultRequest"] == {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "256Mi"}


def test_every_tenant_namespace_is_fenced_by_a_policy_over_all_its_pods(stack: str) -> None:
    plan = example_plan(stack)
    for namespace in tenant_namespaces(plan):
        spec = policy_of(plan, namespace)["spec"]
        assert spec["podSelector"] == {}
        assert sorted(spec["policyTypes"]) == ["Egress", "Ingress"]
        assert {"podSelector": {}} in spec["ingress"][0]["from"]
        outside = [peer["ipBlock"] for rule in spec["egress"] for peer in rule["to"] if "ipBlock" in peer]
        # the cluster ranges, the private ones (100.64.0.0/10 besides the cluster's here), and the node-local
        # addresses of the instance metadata service
        private = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"]
        assert outside == [{"cidr": "0.0.0.0/0", "except": private}]


EXPECTED_PEERS = {
    # hr and payments name orders in allowFrom. Out, every namespace may reach the tenant namespaces of its own
    # environment, whose ingress admits only their callers: no egress depends on another tenant's file.
    "dev": {
        "orders-dev": (set(), {"dev"}),
        "orders-test": (set(), {"test"}),
        "hr-dev": ({"orders-dev"}, {"dev"}),
        "hr-test": ({"orders-test"}, {"test"}),
        "payments-dev": ({"orders-dev"}, {"dev"}),
    },
    "prod": {
        "orders-prod": (set(), {"prod"}),
        "hr-prod": ({"orders-prod"}, {"prod"}),
        "payments-prod": ({"orders-prod"}, {"prod"}),
    },
}


def test_example_tenants_reach_exactly_their_allowed_peers(stack: str) -> None:
    plan = example_plan(stack)
    for namespace, (callers, environments) in EXPECTED_PEERS[stack].items():
        assert ingress_from(plan, namespace) == PLATFORM_NAMESPACES | callers, namespace
        assert egress_to(plan, namespace) == OBSERVABILITY, namespace
        assert egress_to_tenants_of(plan, namespace) == environments, namespace


def test_allow_from_opens_exactly_the_named_direction_and_environment(tmp_path: Path) -> None:
    tenants = write_tenants(
        tmp_path, shop={"network": {"allowFrom": ["web"]}}, web={}, bystander={}, late={"environments": ["prod"]}
    )
    dev, prod = plan_stack("dev", tenants), plan_stack("prod", tenants)
    for plan, environment in ((dev, "dev"), (dev, "test"), (prod, "prod")):
        # In: shop admits web of the same environment, nobody else admits anyone.
        assert ingress_from(plan, f"shop-{environment}") == PLATFORM_NAMESPACES | {f"web-{environment}"}
        assert ingress_from(plan, f"web-{environment}") == PLATFORM_NAMESPACES
        assert ingress_from(plan, f"bystander-{environment}") == PLATFORM_NAMESPACES
        # Out: every namespace the same, whoever names it.
        for tenant in ("shop", "web", "bystander"):
            assert egress_to(plan, f"{tenant}-{environment}") == OBSERVABILITY
            assert egress_to_tenants_of(plan, f"{tenant}-{environment}") == {environment}


def test_a_namespace_reaches_no_other_tenant_beyond_its_allowed_peers(stack: str) -> None:
    plan = example_plan(stack)
    tenant_spaces = set(tenant_namespaces(plan))
    for policy in of_type(plan, NETWORK_POLICY):
        namespace = policy.inputs["metadata"]["namespace"]
        if namespace not in tenant_spaces:
            continue  # the stack's own policies (tests/test_grafana_tenancy.py)
        callers, environments = EXPECTED_PEERS[stack][namespace]
        for rule in [*policy.inputs["spec"]["ingress"], *policy.inputs["spec"]["egress"]]:
            for peer in rule.get("from", rule.get("to", [])):
                selector = peer.get("namespaceSelector")
                if selector is None:
                    assert peer == {"podSelector": {}} or "ipBlock" in peer, peer
                    continue
                if "to" in rule and tenant_environments([peer]):
                    # Out only: the tenant namespaces of its own environment, whose ingress is the fence.
                    assert tenant_environments([peer]) == environments, (namespace, peer)
                    continue
                # Every other namespace peer names one namespace: never a selector matching many.
                (name,) = selector["matchLabels"].values()
                if name in tenant_spaces:
                    assert name in callers, (namespace, name)


# --- RBAC ------------------------------------------------------------------------------------------------------


def test_no_tenant_role_can_change_the_fence_or_use_wildcards(stack: str) -> None:
    roles = of_type(example_plan(stack), ROLE)
    assert roles
    for role in roles:
        for rule in role.inputs["rules"]:
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], role.name
            if FENCE & set(rule["resources"]):
                assert not WRITE_VERBS & set(rule["verbs"]), role.name
            assert "rbac.authorization.k8s.io" not in rule["apiGroups"], role.name


def test_tenant_subjects_are_bound_only_to_namespaced_roles_in_their_own_namespaces(stack: str) -> None:
    plan = example_plan(stack)
    tenants = {tenant.name: tenant for tenant in load_tenants(FIXTURE_TENANTS)}
    assert not [r for r in plan.resources if "ClusterRole" in r.type]
    roles = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]) for r in of_type(plan, ROLE)}
    for binding in of_type(plan, ROLE_BINDING):
        namespace = binding.inputs["metadata"]["namespace"]
        owner = binding.inputs["metadata"]["labels"].get("imaas.io/tenant")
        if owner is None:
            # The platform's own, for accounts of its own namespace, each bound to a Role of the plan: the
            # tenant-configuration job's account and the tenants' Prometheus finding its Alertmanager in the
            # observability namespace, and the promotion gate reading Argo CD's Applications (a Role there that reads
            # nothing else).
            if binding.inputs["metadata"]["name"] == promotion.GATE:
                assert namespace == "argocd", binding.name
                assert binding.inputs["roleRef"]["kind"] == "Role"
            else:
                assert namespace == "observability", binding.name
                for subject in binding.inputs["subjects"]:
                    assert subject["name"] in ("imaas-grafana-orgs", "prometheus-tenants"), binding.name
            assert (namespace, binding.inputs["roleRef"]["name"]) in roles, binding.name
            assert {s["kind"] for s in binding.inputs["subjects"]} == {"ServiceAccount"}, binding.name
            assert {s["namespace"] for s in binding.inputs["subjects"]} == {"observability"}, binding.name
            continue
        tenant = tenants[owner]
        assert namespace.startswith(f"{tenant.name}-")
        assert binding.inputs["roleRef"]["kind"] == "Role"
        assert (namespace, binding.inputs["roleRef"]["name"]) in roles
        for subject in binding.inputs["subjects"]:
            if subject["kind"] == "Group":
                assert subject["name"] in tenant.spec.access.developers + tenant.spec.access.viewers
            elif binding.inputs["metadata"]["name"] == "prometheus-tenants":
                # The platform's tenant scraper, from the observability namespace, reads here (test_observability).
                assert subject == {"kind": "ServiceAccount", "name": "prometheus-tenants", "namespace": "observability"}
            else:
                assert subject == {"kind": "ServiceAccount", "name": "argocd-deployer", "namespace": namespace}


def _verbs(plan: Plan, namespace: str, role: str, resource: str) -> set[str]:
    (found,) = [r for r in in_namespace(plan, ROLE)[namespace] if r["metadata"]["name"] == role]
    return {verb for rule in found["rules"] if resource in rule["resources"] for verb in rule["verbs"]}


def test_developers_edit_workloads_in_dev_and_test_and_only_view_in_prod() -> None:
    dev, prod = example_plan("dev"), example_plan("prod")
    for namespace in ("orders-dev", "orders-test"):
        assert {"create", "update", "delete"} <= _verbs(dev, namespace, "tenant-developer", "deployments")
    assert _verbs(prod, "orders-prod", "tenant-developer", "deployments") == {"get", "list", "watch"}
    assert _verbs(prod, "orders-prod", "tenant-developer", "pods/exec") == set()
    assert _verbs(prod, "orders-prod", "tenant-viewer", "secrets") == set()


def test_groups_are_bound_to_their_roles_and_absent_groups_get_no_binding() -> None:
    plan = example_plan("dev")
    bindings = {(b["metadata"]["namespace"], b["metadata"]["name"]): b for b in
                [r.inputs for r in of_type(plan, ROLE_BINDING)]}  # fmt: skip
    developers = bindings[("orders-dev", "tenant-developer")]
    assert developers["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "orders-devs"}]
    assert ("hr-dev", "tenant-viewer") not in bindings  # hr names no viewers


def test_every_namespace_has_a_deployer_account_that_argo_cd_syncs_as(stack: str) -> None:
    plan = example_plan(stack)
    accounts = in_namespace(plan, SERVICE_ACCOUNT)
    for namespace in tenant_namespaces(plan):
        # and, where a service reads secrets, the account its secret store authenticates as (which no pod may use)
        names = [a["metadata"]["name"] for a in accounts[namespace]]
        assert names == (
            ["argocd-deployer", "imaas-secrets"] if namespace.startswith("payments-") else ["argocd-deployer"]
        )
        assert {"create", "update", "delete"} <= _verbs(plan, namespace, "tenant-deployer", "deployments")
        assert _verbs(plan, namespace, "tenant-deployer", "networkpolicies") == {"get", "list", "watch"}


# --- the Argo CD project ------------------------------------------------------------------------------------------


def projects(plan: Plan) -> dict[str, dict]:
    return {resource.inputs["metadata"]["name"]: resource.inputs for resource in of_type(plan, APP_PROJECT)}


EXPECTED_REPOSITORIES = {
    "orders": {"orders-order-sync", "orders-order-events"},
    "payments": {"payments-card-gateway"},
    "hr": {"hr-employee-sync"},  # payroll-export is retired
}


def test_each_project_is_fenced_to_its_tenant(stack: str) -> None:
    plan = example_plan(stack)
    by_tenant: dict[str, list[str]] = defaultdict(list)
    for namespace in tenant_namespaces(plan):
        by_tenant[namespace.rsplit("-", 1)[0]].append(namespace)
    found = projects(plan)
    assert set(found) == set(by_tenant)
    for tenant, spec in ((name, project["spec"]) for name, project in found.items()):
        assert found[tenant]["metadata"]["namespace"] == "argocd"
        assert set(spec["sourceRepos"]) == {
            f"git@github.com:example-org/{repository}.git" for repository in EXPECTED_REPOSITORIES[tenant]
        }
        assert sorted(d["namespace"] for d in spec["destinations"]) == sorted(by_tenant[tenant])
        assert {d["server"] for d in spec["destinations"]} == {SERVER}
        assert spec["clusterResourceWhitelist"] == []
        assert {(k["group"], k["kind"]) for k in spec["namespaceResourceBlacklist"]} >= {
            ("", "ResourceQuota"), ("", "LimitRange"), ("networking.k8s.io", "NetworkPolicy"),
            ("rbac.authorization.k8s.io", "Role"), ("rbac.authorization.k8s.io", "RoleBinding"),
            # the platform's kinds: secret stores and their syncs, certificates, listeners and gateways
            ("external-secrets.io", "*"), ("generators.external-secrets.io", "*"), ("cert-manager.io", "*"),
            ("acme.cert-manager.io", "*"), ("gateway.networking.k8s.io", "ListenerSet"),
            ("gateway.networking.k8s.io", "Gateway"), ("gateway.networking.k8s.io", "ReferenceGrant"),
        }  # fmt: skip
        assert ("gateway.networking.k8s.io", "HTTPRoute") not in {
            (k["group"], k["kind"]) for k in spec["namespaceResourceBlacklist"]
        }
        assert spec["orphanedResources"] == {
            "warn": True,
            "ignore": [
                {"group": "", "kind": "ServiceAccount", "name": "argocd-deployer"},
                {"group": "monitoring.coreos.com", "kind": "PodMonitor", "name": "imaas-wso2mi"},
                {"group": "monitoring.coreos.com", "kind": "PrometheusRule", "name": "imaas-alert-thresholds"},
                {"group": "monitoring.coreos.com", "kind": "AlertmanagerConfig", "name": "imaas-alerts"},
                {"group": "", "kind": "ServiceAccount", "name": "imaas-secrets"},
                {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "imaas-route-*"},
                {"group": "", "kind": "Secret", "name": "imaas-secret-*"},
                {"group": "", "kind": "Secret", "name": "imaas-tls-*"},
            ],
        }
        assert spec["destinationServiceAccounts"] == [
            {"server": SERVER, "namespace": d["namespace"], "defaultServiceAccount": "argocd-deployer"}
            for d in spec["destinations"]
        ]
        for role in spec["roles"]:
            for policy in role["policies"]:
                assert policy.split(", ")[1] == f"proj:{tenant}:{role['name']}"
                assert policy.split(", ")[4] == f"{tenant}/*"
                assert policy.split(", ")[3] in ("get", "sync")


def test_tenants_sharing_a_prefix_cannot_reach_each_others_repositories_or_namespaces(tmp_path: Path) -> None:
    tenants = write_tenants(
        tmp_path,
        ab={"services": [{"name": "api"}]},
        ab_c={"services": [{"name": "api"}]},
    )
    for stack in ("dev", "prod"):
        plan = plan_stack(stack, tenants)
        found = projects(plan)
        own = {
            name: {
                "repos": set(project["spec"]["sourceRepos"]),
                "namespaces": {d["namespace"] for d in project["spec"]["destinations"]},
            }
            for name, project in found.items()
        }
        for name, other in (("ab", "ab-c"), ("ab-c", "ab")):
            for pattern in own[name]["repos"]:
                assert not any(fnmatchcase(repo, pattern) for repo in own[other]["repos"]), (name, pattern)
            assert not own[name]["namespaces"] & own[other]["namespaces"]
            for namespace in own[name]["namespaces"]:
                assert not (ingress_from(plan, namespace) | egress_to(plan, namespace)) & own[other]["namespaces"]
                # Reaching the other's namespaces of the same environment is left to the other's ingress.
                assert ingress_from(plan, namespace) & own[other]["namespaces"] == set()


def test_a_tenant_without_environments_here_has_no_project_here(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, early={"environments": ["dev", "test"], "services": [{"name": "api"}]})
    assert "early" in projects(plan_stack("dev", tenants))
    assert projects(plan_stack("prod", tenants)) == {}


def test_no_object_the_platform_puts_in_a_tenant_namespace_shows_as_orphaned(stack: str) -> None:
    """Argo CD reports objects of a destination namespace that no application owns, except the kinds the project
    denies and those it ignores: every object the platform declares there must be one of them."""
    plan = example_plan(stack)
    namespaces = set(tenant_namespaces(plan))
    exempt = set()
    for project in projects(plan).values():
        orphans = project["spec"]["orphanedResources"]
        exempt |= {(k["group"], k["kind"], "*") for k in project["spec"]["namespaceResourceBlacklist"]}
        exempt |= {(k["group"], k["kind"], k["name"]) for k in orphans["ignore"]}
    declared = set()
    for resource in plan.resources:
        inputs = resource.inputs
        if resource.custom and inputs.get("metadata", {}).get("namespace") in namespaces:
            group = inputs["apiVersion"].rpartition("/")[0]
            declared.add((group, inputs["kind"], inputs["metadata"]["name"]))
    assert {kind for _, kind, _ in declared} >= {"ServiceAccount", "PodMonitor", "ResourceQuota"}, "all were seen"
    assert {
        (g, k, n)
        for g, k, n in declared
        if not any(fnmatchcase(g, eg) and fnmatchcase(k, ek) and fnmatchcase(n, en)
                   for eg, ek, en in exempt)
    } == set()  # fmt: skip


def test_a_retired_tenant_keeps_its_namespaces_and_fence_but_no_sources(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, old={"lifecycle": "retired", "services": [{"name": "api"}]})
    plan = plan_stack("prod", tenants)
    assert tenant_namespaces(plan) == ["old-prod"]
    for type_ in (QUOTA, LIMITS, NETWORK_POLICY):
        assert len(in_namespace(plan, type_)["old-prod"]) == 1
    assert projects(plan)["old"]["spec"]["sourceRepos"] == []


@pytest.mark.parametrize(
    "type_", [NAMESPACE, QUOTA, LIMITS, NETWORK_POLICY, ROLE, ROLE_BINDING, SERVICE_ACCOUNT, APP_PROJECT]
)
def test_every_tenant_object_carries_the_tenant_labels(type_: str) -> None:
    for resource in tenant_objects(example_plan("dev"), type_):
        labels = resource.inputs["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "pulumi"
        assert labels["imaas.io/tenant"] in EXPECTED_REPOSITORIES
        if type_ != APP_PROJECT:
            assert labels["imaas.io/environment"] in ("dev", "test")


def _children(plan: Plan, resource: PlannedResource) -> list[PlannedResource]:
    return [r for r in plan.resources if r.parent == resource.urn]


def test_everything_in_a_namespace_waits_for_the_namespace(stack: str) -> None:
    plan = example_plan(stack)
    for environment in of_type(plan, "imaas:tenant:Environment"):
        children = _children(plan, environment)
        (namespace,) = [child for child in children if child.type == NAMESPACE]
        assert all(namespace.urn in child.dependsOn for child in children if child is not namespace)
