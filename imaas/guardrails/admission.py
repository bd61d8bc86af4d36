"""Guardrail on the admission policies: every rule of imaas/declarations/admission.py is declared as defined, and every
tenant namespace is covered by each one's binding, with the labels the policies read its tenant and environment
from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from imaas.declarations import admission, isolation, naming, types
from imaas.guardrails.framework import Context, Index, Resource, tenant_namespaces


def _selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Whether a Kubernetes label selector selects an object with `labels` (unset selects everything)."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator, values = requirement.get("key"), requirement.get("operator"), requirement.get("values") or []
        present = key in labels
        holds = {
            "Exists": present,
            "DoesNotExist": not present,
            "In": present and labels[key] in values,
            "NotIn": not present or labels[key] not in values,
        }.get(operator, False)
        if not holds:
            return False
    return True


def _covers(binding: Resource, labels: dict[str, str]) -> bool:
    """Whether `binding` refuses, in a namespace with `labels`, everything its policy refuses: denying, for every
    object of the namespace (an object selector would let a tenant's object label itself out), with nothing
    excluded and no parameters to lose."""
    spec = binding.spec
    match = spec.get("matchResources") or {}
    return (
        spec.get("validationActions") == ["Deny"]
        and not spec.get("paramRef")
        and not match.get("excludeResourceRules")
        and match.get("objectSelector") in (None, {})
        and _selects(match.get("namespaceSelector"), labels)
    )


def _as_declared(rule: admission.AdmissionRule, type_: str, spec: dict[str, Any]) -> Resource:
    """A policy or binding of the shared stack, as its guardrail requires it to be declared."""
    inputs = {"metadata": {"name": rule.name}, "spec": spec}
    return Resource(f"shared-stack::{type_}::{rule.name}", type_, rule.name, inputs, False, None)


def admission_policies_bound(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """On a shared stack, every admission rule declared as defined, policy and binding; on a tenant stack, every
    namespace covered by the bindings the shared stack's earlier wave so declares. Neither holds vacuously: a shared
    stack missing a rule, or a namespace those bindings do not select, is a violation."""
    rules = admission.admission_rules(context.settings)
    declared_policies, declared_bindings = index(types.ADMISSION_POLICY), index(types.ADMISSION_POLICY_BINDING)
    if context.tenant_stack:
        declared_policies = [_as_declared(rule, types.ADMISSION_POLICY, rule.policy_spec()) for rule in rules]
        declared_bindings = [_as_declared(r, types.ADMISSION_POLICY_BINDING, r.binding_spec()) for r in rules]
    policies = {policy.inputs["metadata"]["name"]: policy for policy in declared_policies}
    bindings: dict[str | None, list[Resource]] = defaultdict(list)
    for binding in declared_bindings:
        bindings[binding.spec.get("policyName")].append(binding)
    platform = index(types.PLATFORM)
    for rule in rules:
        policy = policies.get(rule.name)
        if policy is not None and policy.spec != rule.policy_spec():
            yield policy, f"differs from admission rule {rule.name} (imaas/declarations/admission.py)"
        elif (
            not context.tenant_stack
            and platform
            and (policy is None or not any(binding.spec == rule.binding_spec() for binding in bindings[rule.name]))
        ):
            yield platform[0], f"the shared stack does not declare admission rule {rule.name} and its binding"
    for namespace in tenant_namespaces(index, context):
        labels = namespace.labels
        name = namespace.inputs["metadata"]["name"]
        tenant, environment = labels.get(naming.TENANT_LABEL), labels.get(naming.ENVIRONMENT_LABEL)
        if not tenant or not environment or naming.namespace(tenant, environment) != name:
            yield namespace, "its tenant and environment labels, which the admission policies read, do not name it"
        uncovered = [
            rule.name
            for rule in rules
            if rule.name not in policies or not any(_covers(binding, labels) for binding in bindings[rule.name])
        ]
        if uncovered:
            yield namespace, f"not covered by admission policies {', '.join(uncovered)}"


def tenant_namespace_names(context: Context) -> set[str]:
    return set(context.namespace_owners())


def monitors_scrape_own_pods(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """The monitors the plan declares in tenant namespaces meet the admission rules on monitors, as a tenant's
    would: the tenants' Prometheus scrapes them alike."""
    namespaces = tenant_namespace_names(context)
    for monitor in [*index(types.POD_MONITOR), *index(types.SERVICE_MONITOR)]:
        if monitor.namespace in namespaces:
            for problem in admission.monitor_problems(monitor.inputs):
                yield monitor, problem


def priority_classes_declared(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """Where the stack declares the admission policies, it declares every priority class they let tenants' pods
    name, as imaas/declarations/isolation.py defines it: at most 0, never preempting, not the cluster's default."""
    policies = index(types.ADMISSION_POLICY)
    if not policies:
        return
    declared = {priority.inputs.get("metadata", {}).get("name"): priority for priority in index(types.PRIORITY_CLASS)}
    for priority in isolation.TENANT_PRIORITY_CLASSES:
        found = declared.get(priority.name)
        if found is None:
            yield policies[0], f"lets tenants' pods name priority class {priority.name}, which is not declared"
            continue
        expected = priority.manifest_fields()
        fields = {key: found.inputs.get(key, False if key == "globalDefault" else None) for key in expected}
        if fields != expected:
            yield found, f"differs from tenant priority class {priority.name} (imaas/declarations/isolation.py)"


def platform_objects_marked(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    """What the admission policy on the platform's objects needs: every object the plan declares in a tenant
    namespace carries `app.kubernetes.io/managed-by: pulumi`, and every tenant namespace lists its tenant's groups."""
    namespaces = tenant_namespace_names(context)
    for resources in index.by_type.values():
        for resource in resources:
            if resource.namespace in namespaces and resource.labels.get(naming.MANAGED_BY_LABEL) != naming.MANAGED_BY:
                yield resource, f"in tenant namespace {resource.namespace} without {naming.MANAGED_BY_LABEL}: pulumi"
    for namespace in tenant_namespaces(index, context):
        tenant = context.tenants.get(namespace.labels.get(naming.TENANT_LABEL, ""))
        annotations = namespace.inputs.get("metadata", {}).get("annotations") or {}
        listed = annotations.get(admission.TENANT_GROUPS_ANNOTATION)
        if tenant is not None and listed != admission.tenant_groups(tenant):
            yield namespace, f"{admission.TENANT_GROUPS_ANNOTATION} does not list exactly its tenant's groups"
