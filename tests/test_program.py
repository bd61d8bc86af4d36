"""The real program under mocks: what each stack declares, and that invalid input declares nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_tenants
from planning import PROJECT_DIR, example_plan, of_type, plan_stack
from tokens import NAMESPACE

from imaas.engine.run import run_program
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan, PlannedResource

EXPECTED_NAMESPACES = {
    # orders: all environments; payments: dev and prod; hr: all environments.
    "dev": {"orders-dev", "orders-test", "payments-dev", "hr-dev", "hr-test"},
    "prod": {"orders-prod", "payments-prod", "hr-prod"},
}
# The platform's own namespace on each cluster, beside the tenants'.
OBSERVABILITY_NAMESPACE = "observability"


def tenant_namespaces(plan: Plan) -> list[PlannedResource]:
    return [resource for resource in of_type(plan, NAMESPACE) if "$imaas:index:Tenant$" in resource.urn]


def test_each_stack_declares_exactly_the_namespaces_it_hosts(stack: str) -> None:
    plan = example_plan(stack)
    assert {resource.name for resource in tenant_namespaces(plan)} == EXPECTED_NAMESPACES[stack]
    assert {resource.name for resource in of_type(plan, NAMESPACE)} == EXPECTED_NAMESPACES[stack] | {
        OBSERVABILITY_NAMESPACE
    }


def test_namespaces_carry_the_contract_labels_and_survive_removal(stack: str) -> None:
    for resource in tenant_namespaces(example_plan(stack)):
        tenant, environment = resource.name.rsplit("-", 1)
        metadata = resource.inputs["metadata"]
        assert metadata["name"] == resource.name
        assert metadata["labels"]["imaas.io/tenant"] == tenant
        assert metadata["labels"]["imaas.io/environment"] == environment
        assert metadata["labels"]["app.kubernetes.io/managed-by"] == "pulumi"
        assert resource.retainOnDelete or resource.protect, resource.name


def test_cost_center_becomes_a_label() -> None:
    payments = next(r for r in of_type(example_plan("prod"), NAMESPACE) if r.name == "payments-prod")
    assert payments.inputs["metadata"]["labels"]["imaas.io/cost-center"] == "CC-1042"


def test_resources_form_a_tree_platform_tenant_environment(stack: str) -> None:
    plan = example_plan(stack)
    by_urn = plan.by_urn()
    for namespace in tenant_namespaces(plan):
        environment = by_urn[namespace.parent]
        tenant = by_urn[environment.parent]
        platform = by_urn[tenant.parent]
        assert (environment.type, tenant.type, platform.type) == (
            "imaas:tenant:Environment",
            "imaas:index:Tenant",
            "imaas:index:Platform",
        )
        assert tenant.name == namespace.inputs["metadata"]["labels"]["imaas.io/tenant"]
        assert platform.parent is None


def test_a_dev_and_test_tenant_is_absent_from_prod_and_a_prod_tenant_from_dev(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, early={"environments": ["dev", "test"]}, late={"environments": ["prod"]})
    dev = {r.name for r in tenant_namespaces(plan_stack("dev", tenants))}
    prod_plan = plan_stack("prod", tenants)
    assert dev == {"early-dev", "early-test"}
    assert {r.name for r in tenant_namespaces(prod_plan)} == {"late-prod"}
    assert not [r for r in prod_plan.resources if "early" in r.urn]


def test_tenant_selector_limits_the_stack_to_its_shard(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, alpha={}, beta={}, gamma={})
    plan = plan_stack("prod", tenants, tenantSelector=["a*", "gamma"])
    assert {r.name for r in tenant_namespaces(plan)} == {"alpha-prod", "gamma-prod"}


def _run_collecting(tenants: Path, **config: str) -> tuple[list[object], InputError]:
    stack_file = read_stack_file(PROJECT_DIR, "dev")
    declared: list[object] = []
    settings = {**stack_file.config, "imaas:tenantsDir": str(tenants), **config}
    # The program refuses with a RunError caused by the problems; the engine hands over the problems themselves.
    with pytest.raises(InputError) as raised:
        run_program(PROJECT_DIR, "dev", settings, stack_file.secret_keys, declared.append)
    return declared, raised.value


def test_one_broken_file_among_good_ones_declares_nothing(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, alpha={}, beta={})
    (tenants / "broken.yaml").write_text("apiVersion: imaas.io/v1alpha1\nkind: Tenant\nmetadata: [\n")
    declared, error = _run_collecting(tenants)
    assert declared == []
    assert str(error).startswith(f"{tenants / 'broken.yaml'}:4:1: invalid YAML")


def test_an_internal_repository_on_an_organisation_without_them_declares_nothing(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, alpha={"services": [{"name": "api", "visibility": "internal"}]})
    declared, error = _run_collecting(tenants)
    assert declared == []
    assert "spec.services[0].visibility: internal repositories exist only in an organisation owned by an" in str(error)


def test_invalid_stack_setting_declares_nothing_and_names_the_key(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path, alpha={})
    declared, error = _run_collecting(tenants, **{"imaas:environments": '["qa"]'})
    assert declared == []
    assert "imaas:environments[0]: must be one of 'dev', 'test' or 'prod', got 'qa'" in str(error)
