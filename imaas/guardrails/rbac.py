"""Guardrails on RBAC: tenant subjects are bound only inside their own namespaces, never to roles that edit the
fence."""

from __future__ import annotations

from collections.abc import Iterator

from imaas.declarations import exposure, naming, secrets, types
from imaas.guardrails.framework import Context, Index, Resource

# Verbs that reach past RBAC itself: acting as someone else, granting what one does not have.
ESCALATING_VERBS = frozenset({"escalate", "bind", "impersonate"})
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection", *ESCALATING_VERBS})
FENCE_RESOURCES = frozenset(
    {
        "resourcequotas",
        "limitranges",
        "networkpolicies",
        "roles",
        "rolebindings",
        "clusterroles",
        "clusterrolebindings",
        "namespaces",
    }
)


def rbac_fenced(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    groups = context.tenant_groups()
    for binding in index(types.CLUSTER_ROLE_BINDING):
        for subject in binding.inputs.get("subjects") or []:
            if subject.get("kind") == "Group" and subject.get("name") in groups:
                yield binding, f"binds tenant group {subject['name']!r} cluster-wide"
    namespaces = {namespace: tenant for namespace, (tenant, _) in context.namespace_owners().items()}
    for binding in index(types.ROLE_BINDING):
        tenant = namespaces.get(binding.namespace or "")
        for subject in binding.inputs.get("subjects") or []:
            if tenant is not None and not _allowed_subject(subject, tenant.name, binding, groups, context):
                yield (
                    binding,
                    f"binds {subject.get('kind')} {subject.get('name')!r}, not one of tenant {tenant.name}'s own",
                )
            owner = groups.get(subject.get("name")) if subject.get("kind") == "Group" else None
            if owner is None:
                continue
            if binding.namespace not in context.tenant_namespaces(context.tenants[owner]):
                yield binding, f"binds tenant {owner}'s group {subject['name']!r} outside its namespaces"
            if (binding.inputs.get("roleRef") or {}).get("kind") != "Role":
                yield binding, f"binds tenant group {subject['name']!r} to a cluster-wide role"
    for role in index(types.ROLE):
        if naming.TENANT_LABEL not in role.labels:
            continue
        for rule in role.inputs.get("rules") or []:
            resources, verbs = set(rule.get("resources") or []), set(rule.get("verbs") or [])
            if "*" in resources | verbs | set(rule.get("apiGroups") or []):
                yield role, "grants a wildcard"
            elif verbs & ESCALATING_VERBS:
                yield role, f"may {sorted(verbs & ESCALATING_VERBS)}"
            elif resources & FENCE_RESOURCES and verbs & WRITE_VERBS:
                yield role, f"may change {sorted(resources & FENCE_RESOURCES)}"
            elif verbs & WRITE_VERBS and _platform_only(set(rule.get("apiGroups") or []), resources):
                yield role, "may write secret stores, ExternalSecrets, certificates or Gateway objects, the platform's"


def _platform_only(groups: set[str], resources: set[str]) -> bool:
    """Kinds only the platform writes in tenant namespaces: External Secrets Operator's and cert-manager's, and the
    Gateway API's but HTTPRoute (the admission rules refuse the same to tenants)."""
    if groups & {*secrets.API_GROUPS, *exposure.CERT_MANAGER_GROUPS}:
        return True
    return exposure.GROUP in groups and bool(resources & set(exposure.PLATFORM_ONLY_KINDS))


def _allowed_subject(
    subject: dict[str, object], tenant: str, binding: Resource, groups: dict[str, str], context: Context
) -> bool:
    """A tenant's groups, a ServiceAccount of the binding's own namespace, or one of the platform's own (which the
    observability stack's Prometheus scrapes with)."""
    if subject.get("kind") == "Group":
        return groups.get(str(subject.get("name"))) == tenant
    own = (None, binding.namespace, *context.settings.reserved_namespaces())
    return subject.get("kind") == "ServiceAccount" and subject.get("namespace") in own
