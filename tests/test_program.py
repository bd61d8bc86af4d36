"""The real program under mocks: what each stack declares, and that invalid input declares nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import tenant_text, write_tenant, write_tenants
from planning import PROJECT_DIR, example_plan, of_type, plan_stack
from tokens import NAMESPACE

from imaas.engine.run import ProgramError, run_program
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan, PlannedResource

pytestmark = pytest.mark.slow

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
    # and the namespace of the shared Gateway of exposed services, where the stack names a Gateway class
    assert {resource.name for resource in of_type(plan, NAMESPACE)} == EXPECTED_NAMESPACES[stack] | {
        OBSERVABILITY_NAMESPACE,
        "imaas-gateway",
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


# --- logins outside the organisation, where the stack lists no members: checked at `pulumi up` ----------------------


def _with_team(directory: Path, team: str) -> Path:
    write_tenant(directory, "alpha", text=tenant_text("alpha").replace("maintainers: [alice]", team))
    return directory


def test_a_deploy_that_would_invite_a_non_member_stops_and_declares_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without imaas:githubMembers, `pulumi up` of the stack owning the teams reads the organisation's members (here a
    mocked read: no network) and stops before declaring anything when a tenant names someone else."""
    import components.program_inputs as program_inputs

    reads: list[tuple[str, str | None]] = []

    def members(owner: str, token: str | None, api_url: str | None = None) -> frozenset[str]:
        reads.append((owner, token))
        return frozenset({"alice"})

    monkeypatch.setattr(program_inputs, "deploying", lambda: True)
    monkeypatch.setattr(program_inputs, "read_organisation_members", members)
    monkeypatch.setenv("GITHUB_TOKEN", "placeholder-token")
    tenants = _with_team(tmp_path, "maintainers: [Alice]\n    members: [mallory]")

    declared, error = _run_collecting(tenants)

    assert declared == []
    assert reads == [("example-org", "placeholder-token")]
    assert str(error) == (
        f"{tenants / 'alpha.yaml'}:9:15: spec.team.members[0]: 'mallory' is not a member of the GitHub organisation "
        "'example-org' (its members as GitHub lists them at this deploy, which invites nobody): an organisation owner "
        "invites people, then the tenant may name them"
    )


def test_the_membership_read_happens_only_at_up_of_the_stack_owning_the_teams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import components.program_inputs as program_inputs

    def unreachable(*args: object, **kwargs: object) -> frozenset[str]:
        raise AssertionError("the organisation's members were read")

    monkeypatch.setattr(program_inputs, "read_organisation_members", unreachable)
    tenants = _with_team(tmp_path, "maintainers: [alice]\n    members: [mallory]")
    # A preview, and the offline plan, read nothing.
    assert plan_stack("dev", tenants).resources
    monkeypatch.setattr(program_inputs, "deploying", lambda: True)
    # The stack hosting prod declares no team; a stack listing its members has them already.
    assert plan_stack("prod", tenants).resources
    with pytest.raises(InputError, match="'mallory' is not a member of the GitHub organisation \\(imaas:githubMembers"):
        plan_stack("dev", tenants, githubMembers=["alice"])


def test_a_deploy_that_cannot_read_the_members_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import components.program_inputs as program_inputs

    monkeypatch.setattr(program_inputs, "deploying", lambda: True)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    tenants = write_tenants(tmp_path, alpha={})
    with pytest.raises(ProgramError, match=r"nothing was declared: cannot check .* no GitHub token"):
        plan_stack("dev", tenants)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_platforms_object_names_in_tenant_namespaces_are_the_ones_service_names_may_not_prefix(stack: str) -> None:
    """What `reserved_service_names` reads is every name the program gives an object in a tenant namespace."""
    from imaas.declarations.namespace_objects import PLATFORM_NAME_PREFIXES, PLATFORM_OBJECT_NAMES

    plan = example_plan(stack)
    namespaces = {resource.name for resource in tenant_namespaces(plan)}
    declared = {
        resource.inputs["metadata"]["name"]
        for resource in plan.resources
        if isinstance(resource.inputs.get("metadata"), dict)
        and resource.inputs["metadata"].get("namespace") in namespaces
    }
    assert (
        declared and {name for name in declared if not name.startswith(PLATFORM_NAME_PREFIXES)} <= PLATFORM_OBJECT_NAMES
    )
    assert {name for name in declared if name.startswith(PLATFORM_NAME_PREFIXES)}, "a service's objects were seen"
