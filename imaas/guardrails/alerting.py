"""Guardrail on alert delivery: every Prometheus the platform declares that sends alerts can find the Alertmanagers
it sends them to. The Prometheus Operator has a Prometheus discover each Alertmanager through the Kubernetes API
in the Alertmanager's namespace (imaas/declarations/prometheus.py, alertmanager_discovery_resources); without read
access there the alerts are evaluated and silently never sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from imaas.declarations import prometheus, types
from imaas.guardrails.framework import Context, Index, Resource

# What a Pod of a Prometheus runs as when its spec names no account (Kubernetes' default).
DEFAULT_SERVICE_ACCOUNT = "default"


def _grants(rule: dict[str, Any], group: str, resource: str, verb: str) -> bool:
    if rule.get("resourceNames"):
        return False  # discovery lists and watches: a grant limited to names does not do
    return (
        bool({group, "*"} & set(rule.get("apiGroups") or []))
        and bool({resource, "*"} & set(rule.get("resources") or []))
        and bool({verb, "*"} & set(rule.get("verbs") or []))
    )


def _metadata_name(resource: Resource) -> str | None:
    name = resource.inputs.get("metadata", {}).get("name")
    return name if isinstance(name, str) else None


def _rules_of(account: str, account_namespace: str, namespace: str, index: Index) -> list[dict[str, Any]]:
    """Every RBAC rule that `account` (of `account_namespace`) holds in `namespace`, from what the plan declares.
    A binding to a role the plan does not declare grants nothing here: what cannot be seen is not trusted."""

    def binds(binding: Resource) -> bool:
        return any(
            subject.get("kind") == "ServiceAccount"
            and subject.get("name") == account
            and subject.get("namespace", binding.namespace) == account_namespace
            for subject in binding.inputs.get("subjects") or []
        )

    roles = {(role.namespace, _metadata_name(role)): role for role in index(types.ROLE)}
    cluster_roles = {_metadata_name(role): role for role in index(types.CLUSTER_ROLE)}
    rules: list[dict[str, Any]] = []
    bindings = [b for b in index(types.ROLE_BINDING) if b.namespace == namespace] + index(types.CLUSTER_ROLE_BINDING)
    for binding in filter(binds, bindings):
        ref = binding.inputs.get("roleRef") or {}
        if ref.get("kind") == "Role" and binding.namespace is not None:
            role = roles.get((binding.namespace, ref.get("name")))
        else:
            role = cluster_roles.get(ref.get("name")) if ref.get("kind") == "ClusterRole" else None
        rules += (role.inputs.get("rules") or []) if role is not None else []
    return rules


def alerts_reach_their_alertmanager(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for server in index(types.PROMETHEUS):
        spec = server.spec
        account = spec.get("serviceAccountName") or DEFAULT_SERVICE_ACCOUNT
        needed = prometheus.alertmanager_discovery_resources(spec.get("serviceDiscoveryRole"))
        for alertmanager in (spec.get("alerting") or {}).get("alertmanagers") or []:
            namespace = str(alertmanager.get("namespace") or server.namespace or "")
            rules = _rules_of(account, server.namespace or "", namespace, index)
            missing = sorted(
                f"{resource}.{group}".rstrip(".") + f" {verb}"
                for group, resources in needed.items()
                for resource in resources
                for verb in prometheus.DISCOVERY_VERBS
                if not any(_grants(rule, group, resource, verb) for rule in rules)
            )
            if missing:
                yield (
                    server,
                    f"sends alerts to {alertmanager.get('name')!r} in namespace {namespace!r}, where its account "
                    f"{account!r} may not discover it: {', '.join(missing)}",
                )
