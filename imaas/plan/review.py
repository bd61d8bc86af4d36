"""What a reviewer reads before any resource row of a pull request's comment: the intent per tenant in words, then,
for each tenant whose services or quota change, what its services need at their maximum scale against its quota and
what they cost a month, before and after, per environment of the cluster; and the head plan's advisory guardrails."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from imaas.declarations import capacity
from imaas.guardrails import Violation
from imaas.model.settings import Prices, StackSettings
from imaas.model.tenant import Tenant
from imaas.plan.intent import Intent, TenantIntent
from imaas.plan.ownership import tenant_of
from imaas.plan.record import PlannedResource
from imaas.plan.text import code

# Past this many advisories of the tenants a change touches, the rest are counted.
LISTED_ADVISORIES = 8


@dataclass(frozen=True)
class Review:
    intent: Intent
    settings: StackSettings
    advisories: list[str] = field(default_factory=list)
    """The head plan's advisory guardrail results for the tenants the change touches, one line each."""
    other_advisories: int = 0
    """Those of tenants the change leaves alone, counted."""
    notes: list[str] = field(default_factory=list)
    """What could not be judged (a tenant folder that cannot be read), in a reviewer's words."""


def money(amount: Decimal, prices: Prices, *, cents: bool = False) -> str:
    """`$1,234` (or `1,234 EUR`); with `cents`, `$0.10` where the amount is not whole."""
    exact = cents and amount != amount.to_integral_value()
    rounded = amount.quantize(Decimal("0.01") if exact else Decimal(1), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.2f}" if exact else f"{int(rounded):,}"
    return f"${text}" if prices.currency == "USD" else f"{text} {prices.currency}"


def _usage(before: capacity.EnvironmentCapacity | None, after: capacity.EnvironmentCapacity | None) -> str:
    parts = []
    for key in capacity.SHOWN_KEYS:
        if after is None and before is not None:
            parts.append(f"{key} {before.usage(key)} -> 0")
            continue
        assert after is not None
        now = after.usage(key) + (" ⚠️ over" if key in after.over else "")
        if before is None:
            parts.append(f"{key} {now}")
        elif before.hard[key] == after.hard[key]:
            parts.append(f"{key} {capacity.shown_amount(key, before.need[key])} -> {now}")
        else:
            parts.append(f"{key} {before.usage(key)} -> {now}")
    return ", ".join(parts)


def _cost(entry: capacity.EnvironmentCapacity | None, prices: Prices) -> str:
    if entry is None:
        return money(Decimal(0), prices)
    return f"{money(entry.cost_min, prices)}-{money(entry.cost_max, prices)}"


def capacity_lines(intent: TenantIntent, settings: StackSettings) -> list[str]:
    """The tenant's need against its quota and its cost, per environment the cluster hosts, before and after."""
    before = _by_environment(intent.before, settings)
    after = _by_environment(intent.after, settings)
    environments = [env for env in settings.environments if env in before or env in after]
    if not environments:
        return []
    prices = settings.price_table
    lines = [
        "| | need at max scale in a rolling update / quota | a month at min-max scale |",
        "| --- | --- | --- |",
    ]
    for environment in environments:
        old, new = before.get(environment), after.get(environment)
        cost = _cost(new, prices) if old is None else f"{_cost(old, prices)} -> {_cost(new, prices)}"
        lines.append(f"| {environment} | {_usage(old, new)} | {cost} |")
    return lines


def _by_environment(tenant: Tenant | None, settings: StackSettings) -> dict[str, capacity.EnvironmentCapacity]:
    if tenant is None:
        return {}
    return {entry.environment: entry for entry in capacity.tenant_capacity(tenant, settings)}


def review_lines(review: Review) -> list[str]:
    """The lead of a stack's report: per tenant its intent, capacity and cost; then the advisories."""
    lines: list[str] = [f"> [!NOTE]\n> {note}\n" for note in review.notes]
    if not review.intent.tenants and not review.notes:
        lines += ["No tenant file changes what this cluster runs.", ""]
    costed = False
    for intent in review.intent.tenants:
        lines += [f"**Tenant {code(intent.tenant)}**", "", *(f"- {line}" for line in intent.lines), ""]
        if intent.capacity:
            table = capacity_lines(intent, review.settings)
            costed = costed or bool(table)
            lines += [*table, ""] if table else []
    if costed:
        prices = review.settings.price_table
        source = (
            "the cluster's `imaas:prices`"
            if review.settings.prices is not None
            else "**example prices** (set `imaas:prices` for your own)"
        )
        lines += [
            f"<sub>Need: `replicas.max` + 1 pod of each active service, against the namespace's quota. Cost: pods' "
            f"requests at {money(prices.vcpu, prices, cents=True)}/vCPU, "
            f"{money(prices.memory_gib, prices, cents=True)}/GiB memory, "
            f"{money(prices.storage_gib, prices, cents=True)}/GiB storage a month, {source}.</sub>",
            "",
        ]
    if review.advisories or review.other_advisories:
        lines += ["**Advisories** of the plan after the change (they do not fail the check):", ""]
        lines += [f"- {line}" for line in review.advisories[:LISTED_ADVISORIES]]
        rest = max(0, len(review.advisories) - LISTED_ADVISORIES) + review.other_advisories
        if rest > 0:
            lines.append(f"- and {rest} more, of tenants this change leaves alone or past this list: see the report")
        lines.append("")
    return lines


def advisory_lines(
    violations: list[Violation], resources: Mapping[str, PlannedResource], touched: set[str]
) -> tuple[list[str], int]:
    """The advisory results for the `touched` tenants, one line per rule and message (the resources named), and how
    many others there are."""
    grouped: dict[tuple[str, str], list[str]] = {}
    others = 0
    for violation in violations:
        if violation.mandatory:
            continue
        resource = resources.get(violation.urn)
        tenant = tenant_of(resource, resources) if resource is not None else None
        if tenant not in touched:
            others += 1
            continue
        name = resource.name if resource is not None else violation.urn
        grouped.setdefault((violation.policy, violation.message), []).append(name)
    lines = [
        f"{code(policy)}: {message} ({', '.join(code(name) for name in sorted(names))})"
        for (policy, message), names in sorted(grouped.items())
    ]
    return lines, others
