"""Stacks per tenant (DESIGN section 3, issue 25): a cluster's shared stack holds nothing that depends on which
tenants exist, each tenant stack holds its tenant's resources with the URNs and inputs the one-stack-per-cluster
layout gave them but for the stack's name (so that `pulumi state move` migrates without replacing anything)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from helpers import tenant_text
from planning import FIXTURE_TENANTS, plan_stack

from imaas.declarations import types
from imaas.declarations.tenant_config import LABEL
from imaas.plan.ownership import tenant_of
from imaas.plan.record import Plan, PlannedResource

pytestmark = pytest.mark.slow

CLUSTERS = {"dev": ["hr", "orders", "payments"], "prod": ["hr", "orders", "payments"]}


def restacked(resource: PlannedResource, source: str, target: str) -> dict[str, object]:
    """What must be equal in both layouts, with the stack part of every URN replaced."""
    text = json.dumps(
        {
            "urn": resource.urn,
            "type": resource.type,
            "parent": resource.parent,
            "inputs": resource.inputs,
            "protect": resource.protect,
            "retainOnDelete": resource.retainOnDelete,
        },
        sort_keys=True,
    )
    return json.loads(text.replace(f"urn:pulumi:{source}::", f"urn:pulumi:{target}::"))  # type: ignore[no-any-return]


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_each_tenant_keeps_its_urns_and_inputs_in_its_own_stack(cluster: str) -> None:
    before = plan_stack(cluster, whole_cluster=True)
    resources = before.by_urn()
    for tenant in CLUSTERS[cluster]:
        stack = f"{cluster}.{tenant}"
        mine = [r for r in before.resources if tenant_of(r, resources) == tenant]
        assert mine, tenant
        after = plan_stack(stack)
        moved = {str(view["urn"]): view for view in (restacked(r, stack, cluster) for r in after.resources)}
        for resource in mine:
            assert moved.get(resource.urn) == restacked(resource, cluster, cluster), resource.urn
        # Besides the tenant's own, a tenant stack holds only the root component and the providers it uses, which
        # `pulumi state move --include-parents` brings along (the providers are copied).
        extra = {urn for urn in moved if urn not in {r.urn for r in mine}}
        assert {moved[urn]["type"] for urn in extra} <= {types.PLATFORM, *PROVIDER_TYPES}, extra
    # And the one-stack layout's shared part is exactly the shared stack's.
    shared = plan_stack(cluster, whole_cluster=False)
    tenants_urns = {r.urn for r in before.resources if tenant_of(r, resources) is not None}
    rest = {r.urn for r in before.resources} - tenants_urns
    assert rest - {r.urn for r in shared.resources} <= {r.urn for r in before.resources if r.type in PROVIDER_TYPES}


PROVIDER_TYPES = {"pulumi:providers:aws", "pulumi:providers:github"}


def generated(directory: Path, count: int) -> Path:
    directory.mkdir()
    for index in range(count):
        name = f"team{index:03d}"
        spec = f"environments: [dev, test, prod]\nservices:\n  - name: svc{index % 3}\n"
        (directory / f"{name}.yaml").write_text(tenant_text(name, spec), encoding="utf-8")
    return directory


def shared_view(plan: Plan) -> dict[str, dict[str, object]]:
    return {
        r.urn: {"type": r.type, "inputs": r.inputs, "dependsOn": r.dependsOn, "protect": r.protect}
        for r in plan.resources
    }


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_the_shared_stack_does_not_depend_on_which_tenants_exist(cluster: str, tmp_path: Path) -> None:
    few = generated(tmp_path / "few", 10)
    many = generated(tmp_path / "many", 998)
    shutil.copy(FIXTURE_TENANTS / "payments.yaml", many / "payments.yaml")
    shutil.copy(FIXTURE_TENANTS / "orders.yaml", many / "orders.yaml")
    # A CI role per active service: the account's quota raised as a 1,000-tenant organisation would.
    quota = {"iamRoleQuota": 5000}
    small = plan_stack(cluster, few, whole_cluster=False, **quota)
    large = plan_stack(cluster, many, whole_cluster=False, **quota)
    # The same plan at 10 and at 1,000 tenants, every resource and every input: no exception.
    assert shared_view(small) == shared_view(large)
    # And it names no tenant, anywhere.
    text = json.dumps(shared_view(large))
    for name in ("team000", "team009", "team997", "payments", "orders"):
        assert not re.search(rf"\b{name}\b", text), name


@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_each_tenants_configuration_object_is_in_its_own_stack_and_none_in_the_shared_one(cluster: str) -> None:
    def configurations(plan: Plan) -> list[str]:
        return [
            r.inputs["metadata"]["name"]
            for r in plan.resources
            if r.type == types.CONFIG_MAP and LABEL in r.inputs["metadata"].get("labels", {}).items()
        ]

    assert configurations(plan_stack(cluster, whole_cluster=False)) == []
    for tenant in CLUSTERS[cluster]:
        assert configurations(plan_stack(f"{cluster}.{tenant}")) == [f"imaas-tenant-{tenant}"]
