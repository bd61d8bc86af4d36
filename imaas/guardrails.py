"""The platform guardrails of DESIGN section 6, as plain functions of resources' types and inputs.

One implementation with two entry points: the Pulumi policy pack (`policy/`) runs them at preview time, and
`imaas plan` runs them on the offline plan. A change to the components that weakens isolation is stopped by both,
even when the unit tests were changed along with it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imaas import delivery, isolation, naming
from imaas.loader import load_tenants
from imaas.quantity import parse_quantity
from imaas.settings import StackSettings
from imaas.stack_file import StackFile
from imaas.tenant import Tenant

NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
APP_PROJECT = "kubernetes:argoproj.io/v1alpha1:AppProject"
APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
GITHUB_REPOSITORY = "github:index/repository:Repository"
IAM_ROLE = "aws:iam/role:Role"
# What holds a tenant's work: the program protects these (which the policy pack can see) ...
KEPT_TYPES = (NAMESPACE, ECR_REPOSITORY, GITHUB_REPOSITORY)
# ... and deleting any of these loses work; branches and claims are retained rather than protected.
DATA_HOLDING_TYPES = frozenset({*KEPT_TYPES, "kubernetes:core/v1:PersistentVolumeClaim", "github:index/branch:Branch"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection", "escalate", "bind", "impersonate"})
FENCE_RESOURCES = frozenset(
    {"resourcequotas", "limitranges", "networkpolicies", "roles", "rolebindings", "clusterroles", "clusterrolebindings"}
)
GLOB_CHARACTERS = frozenset("*?[]")


@dataclass(frozen=True)
class Resource:
    """What a guardrail sees of a resource, in both entry points."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool | None
    """None where it cannot be seen (the policy pack is not told)."""

    @property
    def labels(self) -> dict[str, str]:
        return self.inputs.get("metadata", {}).get("labels") or {}

    @property
    def namespace(self) -> str | None:
        return self.inputs.get("metadata", {}).get("namespace")

    @property
    def spec(self) -> dict[str, Any]:
        return self.inputs.get("spec") or {}


@dataclass(frozen=True)
class Context:
    settings: StackSettings
    tenants: dict[str, Tenant]
    github_owner: str

    def tenant_namespaces(self, tenant: Tenant) -> set[str]:
        return {naming.namespace(tenant.name, env) for env in self.settings.hosted(tenant.environments)}

    def repository_urls(self, tenant: Tenant) -> set[str]:
        return {naming.repository_url(self.github_owner, tenant.name, s.name) for s in tenant.active_services()}


def stack_context(stack_file: StackFile, tenants_dir: Path) -> Context:
    """What the guardrails need to know of a stack: its settings, every tenant, the GitHub owner."""
    tenants = load_tenants(tenants_dir, stack_file.settings)
    return Context(stack_file.settings, {t.name: t for t in tenants}, stack_file.config.get("github:owner", ""))


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    message: str
    mandatory: bool

    def __str__(self) -> str:
        return f"{self.urn}: {self.policy}: {self.message}"


@dataclass
class Index:
    """The resources by type, so that each guardrail reads only what it needs."""

    by_type: dict[str, list[Resource]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, resources: list[Resource]) -> Index:
        index = cls()
        for resource in resources:
            index.by_type[resource.type].append(resource)
        return index

    def __call__(self, type_: str) -> list[Resource]:
        return self.by_type.get(type_, [])


Check = Callable[[Index, Context], Iterator[tuple[Resource, str]]]


@dataclass(frozen=True)
class Guardrail:
    name: str
    description: str
    mandatory: bool
    check: Check


def _tenant_namespaces(index: Index, context: Context) -> list[Resource]:
    """Tenant namespaces, known by their label or, should a change drop it, by their name."""
    names = {name for tenant in context.tenants.values() for name in context.tenant_namespaces(tenant)}
    return [ns for ns in index(NAMESPACE) if naming.TENANT_LABEL in ns.labels or ns.name in names]


def pod_security(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for namespace in _tenant_namespaces(index, context):
        if namespace.labels.get("pod-security.kubernetes.io/enforce") != isolation.POD_SECURITY_LEVEL:
            yield namespace, "tenant namespace does not enforce Pod Security 'restricted'"


def namespace_fence(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    by_namespace: dict[tuple[str, str | None], list[Resource]] = defaultdict(list)
    for type_ in (QUOTA, LIMIT_RANGE, NETWORK_POLICY):
        for resource in index(type_):
            by_namespace[(type_, resource.namespace)].append(resource)
    for namespace in _tenant_namespaces(index, context):
        name = namespace.inputs["metadata"]["name"]
        quotas = by_namespace[(QUOTA, name)]
        if not any(_closes_node_ports(quota) for quota in quotas):
            yield namespace, "no ResourceQuota with services.nodeports and services.loadbalancers at 0"
        if not by_namespace[(LIMIT_RANGE, name)]:
            yield namespace, "no LimitRange"
        if not any(_fences_all_pods(policy) for policy in by_namespace[(NETWORK_POLICY, name)]):
            yield namespace, "no NetworkPolicy selecting every pod for both Ingress and Egress"


def _closes_node_ports(quota: Resource) -> bool:
    hard = quota.spec.get("hard") or {}
    return str(hard.get("services.nodeports")) == "0" and str(hard.get("services.loadbalancers")) == "0"


def _fences_all_pods(policy: Resource) -> bool:
    spec = policy.spec
    return (
        spec.get("podSelector") in ({}, None)
        and {"Ingress", "Egress"} <= set(spec.get("policyTypes") or [])
        and not any(_admits_anyone(rule) for rule in spec.get("ingress") or [])
    )


def _admits_anyone(rule: dict[str, Any]) -> bool:
    """An ingress rule without peers, or with a peer that matches every namespace or any address, admits all."""
    peers = rule.get("from") or []
    return not peers or any(
        peer in ({}, None) or "ipBlock" in peer or peer.get("namespaceSelector") == {} for peer in peers
    )


def app_project_confined(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    fence = {(group, kind) for group, kind in isolation.FENCE_KINDS}
    for project in index(APP_PROJECT):
        tenant = context.tenants.get(project.inputs["metadata"]["name"])
        if tenant is None:
            yield project, "AppProject is not named after a tenant"
            continue
        spec = project.spec
        sources = spec.get("sourceRepos") or []
        allowed = context.repository_urls(tenant)
        for source in sources:
            if GLOB_CHARACTERS & set(source) or source not in allowed:
                yield project, f"source {source!r} is not one of tenant {tenant.name}'s service repositories"
        namespaces = context.tenant_namespaces(tenant)
        for destination in spec.get("destinations") or []:
            if (
                destination.get("namespace") not in namespaces
                or destination.get("server") != context.settings.cluster_server
            ):
                yield project, f"destination {destination} is not one of tenant {tenant.name}'s namespaces here"
        if spec.get("clusterResourceWhitelist"):
            yield project, "allows cluster-scoped kinds"
        blacklisted = {
            (item.get("group", ""), item.get("kind")) for item in spec.get("namespaceResourceBlacklist") or []
        }
        if not fence <= blacklisted:
            yield project, f"does not refuse {sorted(kind for _, kind in fence - blacklisted)}"
    for application in index(APPLICATION):
        tenant = context.tenants.get(application.spec.get("project", ""))
        destination = (application.spec.get("destination") or {}).get("namespace")
        if tenant is None or destination not in context.tenant_namespaces(tenant):
            yield application, f"Application deploys to {destination!r} outside its project's tenant"


def rbac_fenced(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    groups = {
        group: tenant.name
        for tenant in context.tenants.values()
        for group in tenant.spec.access.developers + tenant.spec.access.viewers
    }
    for binding in index(CLUSTER_ROLE_BINDING):
        for subject in binding.inputs.get("subjects") or []:
            if subject.get("kind") == "Group" and subject.get("name") in groups:
                yield binding, f"binds tenant group {subject['name']!r} cluster-wide"
    for binding in index(ROLE_BINDING):
        for subject in binding.inputs.get("subjects") or []:
            owner = groups.get(subject.get("name")) if subject.get("kind") == "Group" else None
            if owner is None:
                continue
            if binding.namespace not in context.tenant_namespaces(context.tenants[owner]):
                yield binding, f"binds tenant {owner}'s group {subject['name']!r} outside its namespaces"
            if (binding.inputs.get("roleRef") or {}).get("kind") != "Role":
                yield binding, f"binds tenant group {subject['name']!r} to a cluster-wide role"
    for role in index(ROLE):
        if naming.TENANT_LABEL not in role.labels:
            continue
        for rule in role.inputs.get("rules") or []:
            resources, verbs = set(rule.get("resources") or []), set(rule.get("verbs") or [])
            if "*" in resources | verbs | set(rule.get("apiGroups") or []):
                yield role, "grants a wildcard"
            elif resources & FENCE_RESOURCES and verbs & WRITE_VERBS:
                yield role, f"may change {sorted(resources & FENCE_RESOURCES)}"


def registry_safe(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for repository in index(ECR_REPOSITORY):
        inputs = repository.inputs
        if inputs.get("imageTagMutability") != "IMMUTABLE":
            yield repository, "image tags are mutable"
        if not (inputs.get("imageScanningConfiguration") or {}).get("scanOnPush"):
            yield repository, "images are not scanned on push"
        if inputs.get("forceDelete"):
            yield repository, "force_delete would delete its images with it"


def ci_trust_exact(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for role in index(IAM_ROLE):
        policy = role.inputs.get("assumeRolePolicy")
        document = json.loads(policy) if isinstance(policy, str) else policy or {}
        for statement in document.get("Statement") or []:
            federated = (statement.get("Principal") or {}).get("Federated", "")
            if delivery.GITHUB_OIDC_HOST not in str(federated):
                continue
            yield from _trust_problems(role, statement, context)


def _trust_problems(role: Resource, statement: dict[str, Any], context: Context) -> Iterator[tuple[Resource, str]]:
    tenant = context.tenants.get((role.inputs.get("tags") or {}).get(naming.TENANT_LABEL, ""))
    conditions = statement.get("Condition") or {}
    if set(conditions) != {"StringEquals"}:
        yield role, f"trust conditions {sorted(conditions)} are not all StringEquals"
    equals = conditions.get("StringEquals") or {}
    if equals.get(f"{delivery.GITHUB_OIDC_HOST}:aud") != delivery.STS_AUDIENCE:
        yield role, "trust does not require the sts.amazonaws.com audience"
    subjects = equals.get(f"{delivery.GITHUB_OIDC_HOST}:sub")
    subjects = [subjects] if isinstance(subjects, str) else subjects or []
    allowed = set(delivery.ci_subjects(context.github_owner, tenant)) if tenant else set()
    if not subjects:
        yield role, "trust does not limit the GitHub subject"
    for subject in subjects:
        if subject not in allowed:
            yield role, f"trust admits {subject!r}, which is not one of its tenant's repositories and branches"


def data_kept(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for type_ in KEPT_TYPES:
        for resource in index(type_):
            if not (resource.protect or resource.retain_on_delete):
                yield resource, "holds a tenant's work but is neither protected nor retained on delete"


def quota_within_size(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for quota in index(QUOTA):
        tenant = context.tenants.get(quota.labels.get(naming.TENANT_LABEL, ""))
        if tenant is None:
            continue
        preset = context.settings.sizes[tenant.spec.size]
        hard = quota.spec.get("hard") or {}
        above = [
            name
            for name, key in (("cpu", "requests.cpu"), ("memory", "requests.memory"), ("storage", "requests.storage"))
            if key in hard and parse_quantity(str(hard[key])) > parse_quantity(getattr(preset, name))
        ]
        if int(hard.get("pods", 0)) > preset.pods:
            above.append("pods")
        if above:
            yield quota, f"tenant {tenant.name} asks for more than its size {tenant.spec.size} in {', '.join(above)}"


GUARDRAILS = [
    Guardrail(
        "tenant-namespace-pod-security", "Tenant namespaces enforce Pod Security restricted.", True, pod_security
    ),
    Guardrail(
        "tenant-namespace-fenced",
        "Each tenant namespace has a quota (NodePorts and LoadBalancers at 0), a limit range and a NetworkPolicy "
        "over all pods.",
        True,
        namespace_fence,
    ),
    Guardrail(
        "argocd-project-confined",
        "AppProject sources and destinations are one tenant's own, with no cluster-scoped or fence kinds; "
        "Applications deploy inside their tenant.",
        True,
        app_project_confined,
    ),
    Guardrail(
        "tenant-rbac-fenced",
        "No tenant group bound cluster-wide or outside its namespaces; no tenant role edits quotas, limits, "
        "network policies or RBAC.",
        True,
        rbac_fenced,
    ),
    Guardrail(
        "ecr-repository-safe", "ECR repositories are immutable, scanned and not force-deletable.", True, registry_safe
    ),
    Guardrail(
        "ci-trust-exact",
        "CI roles trust only their tenant's own repositories and branches, by exact subject.",
        True,
        ci_trust_exact,
    ),
    Guardrail("data-holding-kept", "Namespaces and repositories are protected or retained.", True, data_kept),
    Guardrail("quota-within-size", "Tenants asking for more than their size preset.", False, quota_within_size),
]


def evaluate(resources: list[Resource], context: Context, guardrails: list[Guardrail] = GUARDRAILS) -> list[Violation]:
    index = Index.of(resources)
    return [
        Violation(guardrail.name, resource.urn, message, guardrail.mandatory)
        for guardrail in guardrails
        for resource, message in guardrail.check(index, context)
    ]
