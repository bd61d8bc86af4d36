"""What a change to the tenant files means, in words, per tenant: the services added, retired, re-activated,
resized and rescaled, their exposure, secrets and backends; the environments, size, quota, access, team, network
peers and alerting changed. Derived from the tenant files before and after the change (`imaas diff --base-tenants
DIR --head-tenants DIR`), and scoped to the environments one cluster hosts, so that each stack's part of a
pull-request comment says what that cluster will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from imaas.declarations import capacity
from imaas.model.settings import StackSettings
from imaas.model.tenant import Connection, Service, Tenant
from imaas.plan.text import code


@dataclass(frozen=True)
class TenantIntent:
    tenant: str
    lines: list[str]
    """What the change does to the tenant, one sentence each, in Markdown (tenant text in code spans)."""
    capacity: bool
    """Whether its services or its quota change, so that its capacity and cost are worth showing."""
    before: Tenant | None = None
    after: Tenant | None = None


@dataclass(frozen=True)
class Intent:
    tenants: list[TenantIntent] = field(default_factory=list)

    def of(self, tenant: str) -> TenantIntent | None:
        return next((intent for intent in self.tenants if intent.tenant == tenant), None)


def _listed(values: Iterable[str]) -> str:
    return ", ".join(code(value) for value in values) or "none"


def _changed_list(what: str, before: Sequence[str], after: Sequence[str]) -> list[str]:
    added = [value for value in after if value not in before]
    removed = [value for value in before if value not in after]
    parts = [f"adds {_listed(added)}"] * bool(added) + [f"removes {_listed(removed)}"] * bool(removed)
    return [f"{what}: {'; '.join(parts)}"] if parts else []


def _bounds(service: Service, environments: Sequence[str]) -> str:
    """`replicas <min>-<max> in dev and test, <min>-<max> in prod`: the autoscaling bounds, the same ones said once."""
    by_bounds: dict[str, list[str]] = {}
    for environment in environments:
        bounds = service.replicas.of(environment)
        by_bounds.setdefault(f"{bounds.min}-{bounds.max}", []).append(environment)
    parts = [f"{bounds} in {' and '.join(envs)}" for bounds, envs in by_bounds.items()]
    return f"replicas {', '.join(parts)}" if parts else "no environment on this cluster"


def _service_lines(before: Tenant | None, after: Tenant, settings: StackSettings) -> list[str]:
    old = {service.name: service for service in (before.spec.services if before else [])}
    lines = []
    for service in after.spec.services:
        hosted = settings.hosted(after.service_environments(service))
        previous = old.get(service.name)
        active = service.lifecycle == "active"
        if previous is None:
            state = "" if active else f" ({service.lifecycle})"
            needs = (
                [f"secrets {_listed(service.secrets)}"] * bool(service.secrets)
                + [f"backends {_listed(_connection(connection) for connection in service.egress)}"]
                * bool(service.egress)
                + ["exposed over HTTPS"] * service.expose
            )
            lines.append(
                f"adds service {code(service.name)}{state}: {service.size}, {_bounds(service, hosted)}"
                + "".join(f"; {need}" for need in needs)
            )
            continue
        if previous.lifecycle != service.lifecycle:
            if active:
                lines.append(
                    f"re-activates service {code(service.name)}: its repository is unarchived and its Applications "
                    f"deploy again ({service.size}, {_bounds(service, hosted)})"
                )
            else:
                lines.append(
                    f"retires service {code(service.name)}: its Applications and their workloads go"
                    f"{' in ' + ', '.join(hosted) if hosted else ''}; its repository is archived, its images kept"
                )
            continue
        if not active:
            continue
        if previous.size != service.size:
            lines.append(f"resizes service {code(service.name)}: pods {previous.size} -> {service.size}")
        was = settings.hosted(before.service_environments(previous)) if before else []
        if was != hosted:
            lines.append(
                f"moves service {code(service.name)} to environments {', '.join(hosted) or 'none'} (from "
                f"{', '.join(was) or 'none'})"
            )
        rescaled = [
            f"{environment} {previous.replicas.of(environment).min}-{previous.replicas.of(environment).max} -> "
            f"{service.replicas.of(environment).min}-{service.replicas.of(environment).max}"
            for environment in hosted
            if environment in was and previous.replicas.of(environment) != service.replicas.of(environment)
        ]
        if rescaled:
            lines.append(f"rescales service {code(service.name)}: replicas {', '.join(rescaled)}")
        if previous.visibility != service.visibility:
            lines.append(f"makes service {code(service.name)}'s repository {service.visibility}")
        lines += _runtime_lines(previous, service, hosted)
    order = ("adds", "retires", "re-activates", "resizes", "rescales", "moves", "makes", "exposes", "stops", "changes")
    return sorted(lines, key=lambda line: order.index(line.split(" ", 1)[0]))


def _connection(connection: Connection) -> str:
    return f"{connection.cidr} port{'s' * (len(connection.ports) > 1)} {', '.join(map(str, connection.ports))}"


def _runtime_lines(previous: Service, service: Service, hosted: Sequence[str]) -> list[str]:
    """What the service needs at run time, changed: its exposure, its secrets and its backends (egress)."""
    lines = []
    if previous.expose != service.expose:
        where = ", ".join(hosted) or "no environment on this cluster"
        lines.append(
            f"exposes service {code(service.name)} over HTTPS in {where}"
            if service.expose
            else f"stops exposing service {code(service.name)}: its routes and certificates go"
        )
    lines += _changed_list(f"changes service {code(service.name)}'s secrets", previous.secrets, service.secrets)
    lines += _changed_list(
        f"changes service {code(service.name)}'s backends (egress)",
        [_connection(connection) for connection in previous.egress],
        [_connection(connection) for connection in service.egress],
    )
    return lines


def _quota_words(tenant: Tenant) -> str:
    quota = tenant.spec.quota.model_dump(exclude_none=True) if tenant.spec.quota else {}
    given = ", ".join(f"{key} {value}" for key, value in quota.items())
    return f"size {tenant.spec.size}" + (f" with {given}" if given else "")


def tenant_intent(before: Tenant | None, after: Tenant | None, settings: StackSettings) -> TenantIntent | None:
    """What the change does to one tenant on a cluster; None when its file means the same before and after."""
    if after is None or before == after:
        return None
    name = after.name
    if after.decommissioned:
        forgotten = before is None or not before.decommissioned
        return (
            TenantIntent(
                name,
                ["decommissioned: the platform forgets it and leaves it in place"] * forgotten,
                False,
                before,
                after,
            )
            if forgotten
            else None
        )
    hosted = settings.hosted(after.environments)
    lines: list[str] = []
    if before is None:
        lines.append(
            f"onboards the tenant: {_quota_words(after)}, environments {', '.join(hosted) or 'none on this cluster'}"
        )
    elif before.spec.lifecycle != after.spec.lifecycle:
        lines.append(
            "retires the tenant: every Application and its workload goes; namespaces, repositories and images stay"
            if after.spec.lifecycle == "retired"
            else "re-activates the tenant: its active services deploy again"
        )
    if before is not None:
        was = settings.hosted(before.environments)
        if was != hosted:
            lines.append(f"environments on this cluster: {', '.join(was) or 'none'} -> {', '.join(hosted) or 'none'}")
        if (before.spec.size, before.spec.quota) != (after.spec.size, after.spec.quota):
            lines.append(f"quota: {_quota_words(before)} -> {_quota_words(after)}")
    lines += _service_lines(before, after, settings)
    old = before.spec if before else None
    for what, previous, current in (
        ("network: may be called from", old.network.allow_from if old else [], after.spec.network.allow_from),
        ("access: developers", old.access.developers if old else [], after.spec.access.developers),
        ("access: viewers", old.access.viewers if old else [], after.spec.access.viewers),
        ("team: maintainers", old.team.maintainers if old else [], after.spec.team.maintainers),
        ("team: members", old.team.members if old else [], after.spec.team.members),
        ("alerts also go to", old.alerting.emails if old else [], after.spec.alerting.emails),
    ):
        if before is not None:
            lines += _changed_list(what, previous, current)
    if before is not None and before.metadata != after.metadata:
        lines.append("metadata (contact, display name or cost center) changed")
    if before is not None and not lines:
        lines.append("descriptions or other details changed (see the resources)")
    return TenantIntent(name, lines, _capacity_changes(before, after, settings), before, after)


def _capacity_changes(before: Tenant | None, after: Tenant, settings: StackSettings) -> bool:
    if before is None:
        return bool(after.active_services())
    return capacity.tenant_capacity(before, settings) != capacity.tenant_capacity(after, settings)


def change_intent(before: Iterable[Tenant], after: Iterable[Tenant], settings: StackSettings) -> Intent:
    """Every tenant the change touches on the cluster of `settings`, in name order."""
    old = {tenant.name: tenant for tenant in before}
    new = {tenant.name: tenant for tenant in after if settings.manages(tenant.name)}
    intents = [tenant_intent(old.get(name), new[name], settings) for name in sorted(new)]
    return Intent([intent for intent in intents if intent is not None])
