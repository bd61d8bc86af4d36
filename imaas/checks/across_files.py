"""The rules of DESIGN sections 3 and 4 that span tenant files: each a function of the whole set, listed in `RULES`."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence, Set
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import NamedTuple

from imaas.declarations import capacity, connections, namespace_objects, naming, workload
from imaas.inputs.codeowners import codeowners_teams
from imaas.inputs.problems import Problem
from imaas.inputs.tenant_files import TenantFile
from imaas.inputs.yaml_source import Location
from imaas.model.lookalike import look_alike_keys
from imaas.model.quantity import exceeds
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant


class DerivedName(NamedTuple):
    """A name the platform derives from a tenant (a tuple: tens of thousands are made per check)."""

    kind: str
    value: str
    owner: str
    location: Location


@dataclass(frozen=True)
class Members:
    """The GitHub organisation's members, and where that list comes from, as a message names it."""

    logins: frozenset[str]
    """Lower case: GitHub compares logins without case."""
    source: str


@dataclass(frozen=True)
class TenantSet:
    """What a rule across files sees: the files valid on their own, and the stack's settings if one is named."""

    files: list[TenantFile]
    stack: StackSettings | None
    names: set[str]
    """Every tenant of the folder, those whose files have problems of their own included."""
    organisation: Members | None = None
    """The organisation's members as read from GitHub, where the stack lists none itself (`pulumi up`)."""

    @property
    def members(self) -> Members | None:
        """Who the tenants may name: the stack's githubMembers, or else the members read from GitHub, or unknown."""
        if self.stack is not None and self.stack.github_members is not None:
            logins = frozenset(login.lower() for login in self.stack.github_members)
            return Members(logins, "(imaas:githubMembers)")
        return self.organisation

    @cached_property
    def retired(self) -> set[str]:
        return {tenant_file.tenant.name for tenant_file in self.files if tenant_file.tenant.spec.lifecycle == "retired"}

    @cached_property
    def decommissioned(self) -> set[str]:
        return {tenant_file.tenant.name for tenant_file in self.files if tenant_file.tenant.decommissioned}

    @property
    def settings(self) -> StackSettings:
        """The stack's settings, or the defaults where no stack is named."""
        return self.stack or _DEFAULT_SETTINGS


Rule = Callable[[TenantSet], Iterator[Problem]]


def cross_file_problems(
    files: list[TenantFile],
    settings: StackSettings | None,
    unreadable: Set[str] = frozenset(),
    organisation: Members | None = None,
    rules: Sequence[Rule] | None = None,
) -> list[Problem]:
    """Problems across `files` (by `rules`, default all of RULES); `unreadable` names the tenants whose files have
    problems of their own, so that naming them in `allowFrom` is not reported twice; `organisation`, the
    organisation's members read from GitHub."""
    names = {tenant_file.tenant.name for tenant_file in files} | unreadable
    tenant_set = TenantSet(files, settings, names, organisation)
    return [problem for rule in (RULES if rules is None else rules) for problem in rule(tenant_set)]


def unique_tenant_names(tenants: TenantSet) -> Iterator[Problem]:
    """Tenant names are unique across the folder."""
    first: dict[str, TenantFile] = {}
    for tenant_file in tenants.files:
        name = tenant_file.tenant.name
        if name in first:
            message = f"tenant '{name}' is already defined in {first[name].file}"
            yield tenant_file.document.problem(("metadata", "name"), message)
        first.setdefault(name, tenant_file)


def reserved_names(tenants: TenantSet) -> Iterator[Problem]:
    """Tenant names are not reserved.

    Names the platform or the world outside the plan holds: the platform's namespaces, the teams CODEOWNERS names
    (a tenant's GitHub team is named as the tenant: its maintainers would maintain the platform admins' team), and
    the registry's pull-through cache prefixes (the cache's images would sit under the tenant's registry path)."""
    platform = tenants.settings.reserved_namespaces()
    teams = codeowners_teams()
    prefixes = {prefix.split("/")[0]: prefix for prefix in tenants.settings.ecr_pull_through_prefixes}
    for tenant_file in tenants.files:
        name = tenant_file.tenant.name
        if name in teams:
            message = (
                f"'{name}' is reserved: it is the GitHub team that .github/CODEOWNERS makes owner of this repository, "
                "which the tenant's team (named as the tenant) would take over"
            )
            yield tenant_file.document.problem(("metadata", "name"), message)
        elif name in prefixes:
            message = (
                f"'{name}' is reserved: the registry caches public images under the pull-through prefix "
                f"'{prefixes[name]}' (imaas:ecrPullThroughPrefixes), which would be the tenant's own registry path"
            )
            yield tenant_file.document.problem(("metadata", "name"), message)
        elif name in platform and name not in naming.RESERVED_TENANT_NAMES:
            yield tenant_file.document.problem(("metadata", "name"), f"'{name}' is a platform namespace of this stack")
        elif name in naming.RESERVED_TENANT_NAMES:
            yield tenant_file.document.problem(("metadata", "name"), f"'{name}' is reserved for the platform")
        elif name.startswith(naming.RESERVED_TENANT_PREFIX):
            message = (
                f"'{name}' is reserved: names starting with '{naming.RESERVED_TENANT_PREFIX}' belong to Kubernetes"
            )
            yield tenant_file.document.problem(("metadata", "name"), message)


def reserved_service_names(tenants: TenantSet) -> Iterator[Problem]:
    """A service's objects are named `<service>-<their name in its repository>` in the tenant's namespaces: a service
    whose name prefixes one of the platform's objects there (`argocd` and `argocd-deployer`) could stand in for it."""
    reserved = namespace_objects.reserved_service_names()
    for tenant_file in tenants.files:
        for index, service in enumerate(tenant_file.tenant.spec.services):
            if service.name in reserved:
                message = (
                    f"'{service.name}' is reserved: its objects are named '{service.name}-...' in the tenant's "
                    f"namespaces, where the platform's '{reserved[service.name]}' is"
                )
                yield tenant_file.document.problem(("spec", "services", index, "name"), message)


def unique_services(tenants: TenantSet) -> Iterator[Problem]:
    """A tenant lists each service once."""
    for tenant_file in tenants.files:
        seen: set[str] = set()
        for index, service in enumerate(tenant_file.tenant.spec.services):
            if service.name in seen:
                message = f"service '{service.name}' is listed more than once"
                yield tenant_file.document.problem(("spec", "services", index, "name"), message)
            seen.add(service.name)


_DERIVED: dict[int, tuple[Tenant, list[DerivedName]]] = {}
"""Each tenant's derived names, by the tenant (kept with it, so that its id stays its own): a folder checked against
several stacks derives them once."""


def derived_names(tenant: Tenant) -> list[DerivedName]:
    known = _DERIVED.get(id(tenant))
    if known is not None and known[0] is tenant:
        return known[1]
    names = []
    for environment in tenant.environments:
        names.append(
            DerivedName(
                "namespace", naming.namespace(tenant.name, environment), f"tenant '{tenant.name}'", ("metadata", "name")
            )
        )
    for index, service in enumerate(tenant.spec.services):
        owner = f"tenant '{tenant.name}', service '{service.name}'"
        location = ("spec", "services", index, "name")
        repository = naming.github_repository(tenant.name, service.name)
        names.append(DerivedName("GitHub repository", repository, owner, location))
        names.append(DerivedName("ECR repository", naming.ecr_repository(tenant.name, service.name), owner, location))
        for environment in tenant.service_environments(service):
            application = naming.application(tenant.name, service.name, environment)
            names.append(DerivedName("Argo CD Application", application, owner, location))
    if len(_DERIVED) >= 50_000:
        _DERIVED.clear()
    _DERIVED[id(tenant)] = (tenant, names)
    return names


def unique_derived_names(tenants: TenantSet) -> Iterator[Problem]:
    """The names the platform derives (namespaces, repositories, registries, Applications) never collide."""
    settings = tenants.settings
    platform_names = {
        "namespace": (settings.reserved_namespaces(), "a platform namespace"),
        "GitHub repository": ({settings.template_repository}, "the platform's service template"),
    }
    taken: dict[tuple[str, str], tuple[str, TenantFile]] = {}
    for tenant_file in tenants.files:
        # A tenant whose very name is reserved is told so once, by reserved_names.
        if tenant_file.tenant.name.startswith(naming.RESERVED_TENANT_PREFIX):
            continue
        for derived in derived_names(tenant_file.tenant):
            names, what = platform_names.get(derived.kind, ((), ""))
            if derived.value in names:
                yield tenant_file.document.problem(derived.location, f"{derived.kind} '{derived.value}' is {what}")
                continue
            if derived.kind == "namespace" and derived.value.startswith(naming.RESERVED_TENANT_PREFIX):
                message = (
                    f"namespace '{derived.value}' starts with '{naming.RESERVED_TENANT_PREFIX}', which Kubernetes keeps"
                )
                yield tenant_file.document.problem(derived.location, message)
                continue
            key = (derived.kind, derived.value)
            earlier = taken.get(key)
            if earlier is None:
                taken[key] = (derived.owner, tenant_file)
                continue
            if earlier[0] == derived.owner:
                continue
            message = (
                f"{derived.kind} '{derived.value}' of {derived.owner} collides with the one of {earlier[0]}"
                f" ({earlier[1].file})"
            )
            yield tenant_file.document.problem(derived.location, message)


LOOK_ALIKE = "the same after case folding and Unicode's confusable skeletons (UTS #39)"


class _LookAlikes:
    """Who first took each look-alike key of a text: the owner and the text as given."""

    def __init__(self) -> None:
        self._owners: dict[str, tuple[str, str]] = {}

    def take(self, text: str, owner: str) -> tuple[str, str] | None:
        """Take `text` for `owner`; the other owner and text it looks like, if another took it first."""
        keys = look_alike_keys(text)
        earlier = next((self._owners[key] for key in sorted(keys) if key in self._owners), None)
        for key in keys:
            self._owners.setdefault(key, (owner, text))
        return earlier if earlier is not None and earlier[0] != owner else None


def groups_of_one_tenant(tenants: TenantSet) -> Iterator[Problem]:
    """An identity-provider group belongs to one tenant: bound in two, its people would cross the fence. Groups that
    only look alike are refused too: a reviewer reads `Payments-Devs` as `payments-devs`, and some identity providers
    and Grafana's group matching do not tell case apart. Nor may a tenant name the platform admins' groups."""
    taken = _LookAlikes()
    for group in tenants.settings.observability.grafana.admin_groups:
        taken.take(group, "the platform admins (observability.grafana.adminGroups)")
    for tenant_file in tenants.files:
        tenant = tenant_file.tenant
        for role in ("developers", "viewers"):
            for index, group in enumerate(getattr(tenant.spec.access, role)):
                earlier = taken.take(group, f"tenant '{tenant.name}'")
                if earlier is None:
                    continue
                first, as_given = earlier
                if as_given == group:
                    message = f"group '{group}' is already given access by {first}"
                else:
                    message = f"group '{group}' looks like group '{as_given}' of {first} ({LOOK_ALIKE})"
                yield tenant_file.document.problem(("spec", "access", role, index), message)


def display_names_look_unique(tenants: TenantSet) -> Iterator[Problem]:
    """A tenant's display name and name look like no other tenant's.

    What people read a tenant as (its display name, and its name, which is shown where it has none) is no other
    tenant's, after case folding and confusable skeletons: a look-alike team description or Grafana organisation would
    have people grant or report to the wrong tenant."""
    taken = _LookAlikes()
    for tenant_file in tenants.files:
        tenant = tenant_file.tenant
        shown = [(("metadata", "name"), tenant.name)]
        if tenant.metadata.display_name is not None:
            shown.append((("metadata", "displayName"), tenant.metadata.display_name))
        for location, text in shown:
            earlier = taken.take(text, tenant.name)
            if earlier is None:
                continue
            first, as_given = earlier
            message = f"'{text}' looks like '{as_given}' of tenant '{first}' ({LOOK_ALIKE}): choose a name of its own"
            yield tenant_file.document.problem(location, message)


def allow_from_known_tenants(tenants: TenantSet) -> Iterator[Problem]:
    """`allowFrom` names other tenants that exist."""
    for tenant_file in tenants.files:
        tenant = tenant_file.tenant
        for index, other in enumerate(tenant.spec.network.allow_from):
            location = ("spec", "network", "allowFrom", index)
            if other == tenant.name:
                message = "must not name the tenant itself, which always reaches itself"
                yield tenant_file.document.problem(location, message)
            elif other not in tenants.names:
                close = difflib.get_close_matches(other, sorted(tenants.names - {tenant.name}), n=1, cutoff=0.6)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                message = f"must name an existing tenant: there is no tenant named '{other}'{hint}"
                yield tenant_file.document.problem(location, message)
            elif other in tenants.decommissioned:
                message = f"must name an active tenant: '{other}' is decommissioned and has no workloads"
                yield tenant_file.document.problem(location, message)
            elif other in tenants.retired:
                # Its namespaces stay, and whoever may still run pods there would keep reaching this tenant.
                message = (
                    f"must name an active tenant: '{other}' is retired and runs no service, so nothing of it needs to "
                    "call this tenant; remove it from allowFrom"
                )
                yield tenant_file.document.problem(location, message)


def service_environments_within_tenant(tenants: TenantSet) -> Iterator[Problem]:
    """A service runs only in environments its tenant has."""
    for tenant_file in tenants.files:
        tenant = tenant_file.tenant
        for index, service in enumerate(tenant.spec.services):
            for position, environment in enumerate(service.environments or []):
                if environment not in tenant.spec.environments:
                    listed = ", ".join(tenant.environments)
                    message = f"'{environment}' is not one of the tenant's environments ({listed})"
                    yield tenant_file.document.problem(("spec", "services", index, "environments", position), message)


def replicas_within_service_environments(tenants: TenantSet) -> Iterator[Problem]:
    """Scaling bounds are given only for environments the service runs in: bounds elsewhere would say nothing, and
    are most likely meant for an environment the file forgot to list."""
    for tenant_file in tenants.files:
        tenant = tenant_file.tenant
        for index, service in enumerate(tenant.spec.services):
            runs_in = tenant.service_environments(service)
            for environment in service.replicas.listed():
                if environment not in runs_in:
                    message = (
                        f"the service does not run in {environment} (it runs in {', '.join(runs_in)}): remove these "
                        f"bounds or add {environment} to its environments"
                    )
                    location = ("spec", "services", index, "replicas", environment)
                    yield tenant_file.document.problem(location, message, key=True)


# A message stays one readable line however many services a tenant has.
_LISTED_SERVICES = 6


def services_fit_quota(tenants: TenantSet) -> Iterator[Problem]:
    """A tenant's active services fit its quota at their maximum scale during a rolling update.

    Checked against a named stack, whose sizes make the quotas: in each environment the stack hosts, the tenant's
    active services at their maximum scale, each with the pod a rolling update adds (workload.SURGE), fit the
    namespace's quota, in requests and limits of every resource and in pods. Otherwise a release or a load peak
    would stop at the quota, with pods the ReplicaSet cannot create and no error anyone reads. The computation is
    imaas.declarations.capacity's, which the pull-request comment shows too."""
    stack = tenants.stack
    if stack is None:
        return
    sizes = capacity.per_pod(stack)
    # Most tenants share a few presets: their quotas are read once.
    quotas: dict[tuple[str, object], tuple[dict[str, str], dict[str, Decimal]]] = {}
    for tenant_file in tenants.files:
        tenant = tenant_file.tenant
        if not tenant.active_services() or not stack.manages(tenant.name):
            continue
        key = (tenant.spec.size, tenant.spec.quota)
        if key not in quotas:
            quotas[key] = capacity.quota_of(tenant, stack)
        hard, limit = quotas[key]
        for environment in stack.hosted(tenant.environments):
            running = capacity.running(tenant, environment, "max")
            need = capacity.needed(running, sizes, limit)
            over = capacity.above(need, limit)
            if not over:
                continue
            # The service that tips it over: the first whose own and earlier services' need is above the quota.
            tipping = next(
                entry
                for count, entry in enumerate(running, start=1)
                if capacity.above(capacity.needed(running[:count], sizes, limit), limit)
            )
            counted = [f"{entry.service.name} {entry.pods} x {entry.service.size}" for entry in running]
            amounts = [f"{key} {capacity.shown_amount(key, need[key])} > {hard[key]}" for key in over]
            if len(counted) > _LISTED_SERVICES:
                counted[_LISTED_SERVICES - 1 :] = [f"{len(counted) - _LISTED_SERVICES + 1} more"]
            message = (
                f"service '{tipping.service.name}' does not fit the tenant's quota in {environment}: at their maximum "
                f"scale during a rolling update (max + {workload.SURGE} pods each: {', '.join(counted)}) the active "
                f"services need {', '.join(amounts)}; lower replicas.{environment}.max or a size, or raise the "
                "tenant's size or quota"
            )
            yield tenant_file.document.problem(("spec", "services", tipping.index, "name"), message)


def quota_within_max(tenants: TenantSet) -> Iterator[Problem]:
    """A tenant's quota is within the stack's quotaMax.

    Checked only against a named stack: each stack has its own quotaMax."""
    if tenants.stack is None:
        return
    limit = tenants.stack.quota_max
    for tenant_file in tenants.files:
        quota = tenant_file.tenant.spec.quota
        for name, value in (quota.model_dump(exclude_none=True) if quota else {}).items():
            if exceeds(value, getattr(limit, name)):
                message = f"{value} is above this stack's quotaMax of {getattr(limit, name)}"
                yield tenant_file.document.problem(("spec", "quota", name), message)


def internal_visibility_supported(tenants: TenantSet) -> Iterator[Problem]:
    """`visibility: internal` only where the stack's organisation has internal repositories.

    Checked only against a named stack, which says whether its organisation has internal repositories: on any
    other, GitHub generates the repository private and then refuses to make it internal, at every `up`."""
    if tenants.stack is None or tenants.stack.github_enterprise:
        return
    for tenant_file in tenants.files:
        for index, service in enumerate(tenant_file.tenant.spec.services):
            if service.visibility == "internal":
                message = (
                    "internal repositories exist only in an organisation owned by an enterprise account, and this"
                    " stack's is not (imaas:githubEnterprise): use private"
                )
                yield tenant_file.document.problem(("spec", "services", index, "visibility"), message)


def logins_are_members(tenants: TenantSet) -> Iterator[Problem]:
    """Maintainers and members are members of the GitHub organisation.

    Checked where the organisation's members are known (a named stack's githubMembers, or, at `pulumi up` of the
    stack owning global resources, the list read from GitHub): a login outside it would be invited into the
    organisation and given admin or write on the tenant's repositories, so it must be a member first (an
    organisation owner invites people; a tenant file does not). Decommissioned tenants declare no team."""
    members = tenants.members
    if members is None:
        return
    for tenant_file in tenants.files:
        if tenant_file.tenant.decommissioned:
            continue
        team = tenant_file.tenant.spec.team
        for role, logins in (("maintainers", team.maintainers), ("members", team.members)):
            for index, login in enumerate(logins):
                if login.lower() not in members.logins:
                    message = (
                        f"'{login}' is not a member of the GitHub organisation {members.source}: an organisation"
                        " owner invites people, then the tenant may name them"
                    )
                    yield tenant_file.document.problem(("spec", "team", role, index), message)


# Without a stack, the rules across files read only sizes and limits: the cluster's own settings are placeholders.
_DEFAULT_SETTINGS = StackSettings(
    environments=["dev", "test", "prod"],
    ingress_host_suffix="apps.invalid",
    ecr_registry="000000000000.dkr.ecr.eu-west-1.amazonaws.com",
)


def ci_roles_within_quota(tenants: TenantSet) -> Iterator[Problem]:
    """Each active service has a CI role, in the account of the stack owning global resources: no more than that
    account may hold. Checked against a named stack, which is the one owning them."""
    stack = tenants.stack
    if stack is None or not stack.owns_global_resources:
        return
    count = 0
    for tenant_file in tenants.files:
        tenant = tenant_file.tenant
        if not stack.manages(tenant.name):
            continue
        count += len(tenant.active_services())
        if count > stack.iam_role_quota:
            message = (
                f"the CI roles of this stack's active services (one each) reach {count}, more than its iamRoleQuota "
                f"of {stack.iam_role_quota}: raise the account's IAM role quota and the setting, or shard the tenants"
            )
            yield tenant_file.document.problem(("spec", "services"), message, key=True)
            return


def egress_outside_the_cluster(tenants: TenantSet) -> Iterator[Problem]:
    """A service's backend is outside the cluster: an egress into the cluster's own ranges would reach other
    tenants' pods past `allowFrom` (tenants reach each other with it), one into the node-local range the node's
    credentials. Checked against a named stack, whose `clusterCidrs` it knows."""
    if tenants.stack is None:
        return
    for tenant_file in tenants.files:
        for index, service in enumerate(tenant_file.tenant.spec.services):
            for position, connection in enumerate(service.egress):
                inside = connections.inside_the_cluster(connection.cidr, tenants.stack)
                if inside:
                    message = (
                        f"must be outside the cluster's own range {inside[0]} (imaas:clusterCidrs), got "
                        f"{connection.cidr}: a backend is outside the cluster; to call another tenant's services, "
                        "that tenant names yours in its network.allowFrom"
                    )
                    location = ("spec", "services", index, "egress", position, "cidr")
                    yield tenant_file.document.problem(location, message)


RULES: tuple[Rule, ...] = (
    unique_tenant_names,
    reserved_names,
    reserved_service_names,
    unique_services,
    unique_derived_names,
    groups_of_one_tenant,
    display_names_look_unique,
    allow_from_known_tenants,
    service_environments_within_tenant,
    replicas_within_service_environments,
    quota_within_max,
    services_fit_quota,
    internal_visibility_supported,
    ci_roles_within_quota,
    logins_are_members,
    egress_outside_the_cluster,
)
"""Every rule across tenant files, in the order they report."""

SETTINGS_FREE_RULES: tuple[Rule, ...] = (
    unique_tenant_names,
    reserved_service_names,
    unique_services,
    display_names_look_unique,
    allow_from_known_tenants,
    service_environments_within_tenant,
    replicas_within_service_environments,
)
"""The rules that read neither the stack's settings nor the organisation's members: the same problems against any
stack, so that checking a folder against several stacks runs them once (tests/test_tenant_rules.py holds them to it)."""
SETTINGS_RULES: tuple[Rule, ...] = tuple(rule for rule in RULES if rule not in SETTINGS_FREE_RULES)
"""The others, which a stack's settings (its names, limits and members) can change."""
