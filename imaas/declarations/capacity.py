"""What a tenant's services need of its namespaces' quotas, and what they cost: one computation behind the capacity
rule of `validate --stack` (imaas.checks.across_files.services_fit_quota) and the capacity and cost a pull request's
comment shows (imaas.plan.review).

A service's need at its maximum scale is its `replicas.<env>.max` pods plus the one a rolling update adds
(workload.SURGE), each counting its size's requests and limits against the quota; its cost counts the pods' requests
(what the scheduler reserves on the nodes, so what the nodes must hold), at its minimum and at its maximum scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from imaas.declarations import isolation, workload
from imaas.model.quantity import parse_quantity, shown_quantity
from imaas.model.settings import Prices, StackSettings
from imaas.model.tenant import Service, SizeName, Tenant

Scale = Literal["min", "max"]
GIB = Decimal(2**30)
# The quota keys a comment shows for a tenant: limits are what the quota holds the services to (they are at least
# the requests), and pods.
SHOWN_KEYS = ("limits.cpu", "limits.memory", "pods")


@dataclass(frozen=True)
class Running:
    """One service's pods in one environment."""

    index: int
    """The service's place in its tenant file's `services`."""
    service: Service
    pods: int


def per_pod(settings: StackSettings) -> dict[SizeName, dict[str, Decimal]]:
    """What one pod of each service size counts against its quota, by the quota's keys."""
    return {
        name: {key: parse_quantity(value) for key, value in workload.quota_usage(size).items()}
        for name, size in settings.service_sizes.items()
    }


def quota_of(tenant: Tenant, settings: StackSettings) -> tuple[dict[str, str], dict[str, Decimal]]:
    """The tenant namespace's quota as written (`hard`) and as numbers, for the keys its services' pods count
    against."""
    hard = isolation.quota_hard(settings.quota_for(tenant.spec.size, tenant.spec.quota))
    return hard, {key: parse_quantity(hard[key]) for key in workload.quota_usage_keys()}


def running(tenant: Tenant, environment: str, scale: Scale = "max") -> list[Running]:
    """The tenant's active services in `environment` with their pod counts: at the maximum scale during a rolling
    update (`max` + SURGE), or at their minimum."""
    active = {id(service) for service in tenant.active_services()}
    return [
        Running(
            index,
            service,
            service.replicas.of(environment).max + workload.SURGE
            if scale == "max"
            else service.replicas.of(environment).min,
        )
        for index, service in enumerate(tenant.spec.services)
        if id(service) in active and environment in tenant.service_environments(service)
    ]


def needed(
    pods: Iterable[Running], sizes: dict[SizeName, dict[str, Decimal]], keys: Iterable[str]
) -> dict[str, Decimal]:
    """What `pods` need of each quota key in `keys`: summed per size, so that a tenant costs a few multiplications
    whatever its number of services."""
    by_size: dict[SizeName, int] = {}
    for entry in pods:
        by_size[entry.service.size] = by_size.get(entry.service.size, 0) + entry.pods
    return {key: sum((count * sizes[size][key] for size, count in by_size.items()), Decimal(0)) for key in keys}


def above(need: dict[str, Decimal], limit: dict[str, Decimal]) -> list[str]:
    """The keys whose need is above the limit."""
    return [key for key, amount in need.items() if amount > limit[key]]


def shown_amount(key: str, amount: Decimal) -> str:
    """An amount of quota key `key` as the quota writes it: cores, bytes in a binary unit, or a count."""
    return shown_quantity(amount, binary=not key.endswith("cpu") and key != "pods")


@dataclass(frozen=True)
class EnvironmentCapacity:
    """A tenant's need at its maximum scale against its quota in one environment, and its monthly cost."""

    environment: str
    need: dict[str, Decimal]
    limit: dict[str, Decimal]
    hard: dict[str, str]
    cost_min: Decimal
    cost_max: Decimal

    @property
    def over(self) -> list[str]:
        return above(self.need, self.limit)

    def usage(self, key: str) -> str:
        """`19/20` for a key: the need at maximum scale over the quota."""
        return f"{shown_amount(key, self.need[key])}/{self.hard[key]}"


def monthly_cost(pods: Iterable[Running], settings: StackSettings, prices: Prices) -> Decimal:
    """What `pods` cost a month at `prices`, by their requests: vCPU, GiB of memory, GiB of ephemeral storage."""
    total = Decimal(0)
    for entry in pods:
        requests = settings.service_sizes[entry.service.size].requests
        pod = (
            parse_quantity(requests.cpu) * prices.vcpu
            + parse_quantity(requests.memory) / GIB * prices.memory_gib
            + parse_quantity(requests.ephemeral_storage) / GIB * prices.storage_gib
        )
        total += entry.pods * pod
    return total


def tenant_capacity(tenant: Tenant, settings: StackSettings) -> list[EnvironmentCapacity]:
    """For each environment of the tenant that the cluster hosts: the need of its active services at their maximum
    scale during a rolling update against its quota, and their monthly cost at their minimum and maximum scale
    (without the rolling update's extra pod, which lives for minutes)."""
    if not tenant.active:
        return []
    sizes = per_pod(settings)
    hard, limit = quota_of(tenant, settings)
    prices = settings.price_table
    result = []
    for environment in settings.hosted(tenant.environments):
        at_max = running(tenant, environment, "max")
        steady = [Running(entry.index, entry.service, entry.pods - workload.SURGE) for entry in at_max]
        result.append(
            EnvironmentCapacity(
                environment,
                needed(at_max, sizes, limit),
                limit,
                hard,
                monthly_cost(running(tenant, environment, "min"), settings, prices),
                monthly_cost(steady, settings, prices),
            )
        )
    return result
