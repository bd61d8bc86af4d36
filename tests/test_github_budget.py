"""bench/github_budget.py: every GitHub resource the program declares has a known write count, and a service's
first deployment costs what docs/operators.md says."""

from __future__ import annotations

import pytest
from planning import example_plan

from bench import github_budget


@pytest.mark.slow
def test_every_github_resource_of_the_plan_has_a_write_count() -> None:
    plan = example_plan("dev")
    types = {resource.type for resource in plan.resources if resource.type.startswith("github:")}
    assert types and types <= set(github_budget.WRITES)


@pytest.mark.slow
def test_an_active_service_costs_fourteen_or_fifteen_writes_and_a_tenant_its_team() -> None:
    found = github_budget.budget(example_plan("dev"))
    # orders (maintainer alice; members bob, carol). order-sync (dev, test, prod): repository 5, default branch 1,
    # test and prod 2, access 2 (the team, alice), OIDC subject 1, IMAAS_SERVICE 1, the dev cluster's deploy key 1
    # (the prod cluster's key is its tenant stack's write there), the custom properties imaas-service and
    # imaas-tenant 2 (what the rulesets select by).
    assert found["by_service"]["orders-order-sync"] == 15
    # order-events (dev, test): one branch fewer.
    assert found["by_service"]["orders-order-events"] == 14
    # The team and its three members.
    assert found["by_tenant_own"]["orders"] == 4
    total = sum(github_budget.writes_of(r) for r in example_plan("dev").resources if r.type.startswith("github:"))
    assert found["writes"] == total
