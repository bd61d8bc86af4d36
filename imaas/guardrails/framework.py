"""What every guardrail is made of: the resources it sees (the same in both entry points), what it knows of the
stack, and how a set of guardrails is evaluated."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from imaas.checks.tenants import load_tenants
from imaas.declarations import naming, types
from imaas.inputs.stack_file import GITHUB_OWNER_KEY, StackFile, StackName
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant

GLOB_CHARACTERS = frozenset("*?[]")
WHOLE_CLUSTER = StackName("")
"""A context that judges a shared stack, or a plan of a whole cluster as one stack."""


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
    depends_on: tuple[str, ...] = ()
    """The URNs of the resources it waits for, as the engine receives them."""

    @property
    def labels(self) -> dict[str, str]:
        return self.inputs.get("metadata", {}).get("labels") or {}

    @property
    def namespace(self) -> str | None:
        namespace = self.inputs.get("metadata", {}).get("namespace")
        return namespace if isinstance(namespace, str) else None

    @property
    def spec(self) -> dict[str, Any]:
        return self.inputs.get("spec") or {}


@dataclass(frozen=True)
class Context:
    settings: StackSettings
    tenants: dict[str, Tenant]
    """Every tenant of the folder, whichever stack is judged: the cross-tenant guardrails keep the whole view."""
    github_owner: str
    stack: StackName = WHOLE_CLUSTER
    """The stack judged: a cluster's shared stack, or a tenant stack, which relies on what the shared stack's earlier
    wave declares (and the shared stack's own guardrails require it to declare exactly that)."""

    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """What is derived from every tenant, once per folder: `dataclasses.replace` keeps the same memo, so the fleet
    judges each of a cluster's stacks without walking every tenant again (imaas/engine/fleet.py)."""

    @property
    def tenant_stack(self) -> bool:
        return self.stack.tenant is not None

    def namespace_owners(self) -> dict[str, tuple[Tenant, str]]:
        """Every tenant namespace of this cluster, and its tenant and environment."""
        owners: dict[str, tuple[Tenant, str]] | None = self.memo.get("namespace_owners")
        if owners is None:
            owners = {
                naming.namespace(tenant.name, environment): (tenant, environment)
                for tenant in self.tenants.values()
                for environment in self.settings.hosted(tenant.environments)
            }
            self.memo["namespace_owners"] = owners
        return owners

    def tenant_groups(self) -> dict[str, str]:
        """Every tenant's identity-provider groups, and whose each is."""
        groups: dict[str, str] | None = self.memo.get("tenant_groups")
        if groups is None:
            groups = {
                group: tenant.name
                for tenant in self.tenants.values()
                for group in tenant.spec.access.developers + tenant.spec.access.viewers
            }
            self.memo["tenant_groups"] = groups
        return groups

    def tenant_namespaces(self, tenant: Tenant) -> set[str]:
        return {naming.namespace(tenant.name, env) for env in self.settings.hosted(tenant.environments)}

    @cached_property
    def ci_roles(self) -> dict[str, tuple[Tenant, Service]]:
        """Every service's CI role name, and whose it is."""
        return {
            naming.ci_role(tenant.name, service.name): (tenant, service)
            for tenant in self.tenants.values()
            for service in tenant.spec.services
        }

    def repository_urls(self, tenant: Tenant) -> set[str]:
        return {naming.repository_url(self.github_owner, tenant.name, s.name) for s in tenant.active_services()}


def stack_context(stack_file: StackFile, tenants_dir: Path, stack: StackName = WHOLE_CLUSTER) -> Context:
    """What the guardrails need to know of a stack: its settings, every tenant, the GitHub owner."""
    tenants = load_tenants(tenants_dir, stack_file.settings)
    return Context(
        stack_file.settings, {t.name: t for t in tenants}, stack_file.config.get(GITHUB_OWNER_KEY, ""), stack
    )


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
    by_urn: dict[str, Resource] = field(default_factory=dict)
    _waits_for: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: list[Resource]) -> Index:
        index = cls()
        for resource in resources:
            index.by_type[resource.type].append(resource)
            index.by_urn[resource.urn] = resource
        return index

    def __call__(self, type_: str) -> list[Resource]:
        return self.by_type.get(type_, [])

    def waits_for(self, resource: Resource) -> frozenset[str]:
        """Every URN `resource` is created after: its dependencies, theirs, and so on."""
        known = self._waits_for.get(resource.urn)
        if known is not None:
            return known
        self._waits_for[resource.urn] = frozenset()  # a cycle, which the engine refuses anyway, ends here
        found: set[str] = set()
        for urn in resource.depends_on:
            found.add(urn)
            dependency = self.by_urn.get(urn)
            if dependency is not None:
                found |= self.waits_for(dependency)
        self._waits_for[resource.urn] = frozenset(found)
        return self._waits_for[resource.urn]


Check = Callable[[Index, Context], Iterator[tuple[Resource, str]]]


@dataclass(frozen=True)
class Guardrail:
    name: str
    description: str
    mandatory: bool
    check: Check


def evaluate(resources: list[Resource], context: Context, guardrails: list[Guardrail]) -> list[Violation]:
    index = Index.of(resources)
    return [
        Violation(guardrail.name, resource.urn, message, guardrail.mandatory)
        for guardrail in guardrails
        for resource, message in guardrail.check(index, context)
    ]


def tenant_namespaces(index: Index, context: Context) -> list[Resource]:
    """Tenant namespaces, known by their label or, should a change drop it, by their name."""
    names = context.namespace_owners()
    return [ns for ns in index(types.NAMESPACE) if naming.TENANT_LABEL in ns.labels or ns.name in names]
