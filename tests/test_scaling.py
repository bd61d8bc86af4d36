"""Planning a cluster's stacks together (`plan --fleet`), which stacks a change touches, and splitting tenants over
clusters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import CLUSTER_SETTINGS, write_tenants
from planning import FIXTURE_TENANTS
from typer.testing import CliRunner

from bench.bench import generate
from imaas import cli
from imaas.checks.tenants import check_tenants
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.diff import diff_plans
from imaas.plan.ownership import tenant_of
from imaas.plan.record import Plan

runner = CliRunner()


def fleet(tmp_path: Path, tenants: Path = FIXTURE_TENANTS, *args: str) -> dict[str, Plan]:
    """`plan --stack dev --fleet`: every plan it wrote, by stack."""
    out = tmp_path / f"fleet-{len(list(tmp_path.glob('fleet-*')))}"
    command = ["plan", "--stack", "dev", "--fleet", "--json-dir", str(out), "--tenants", str(tenants), *args]
    result = runner.invoke(cli.app, command)
    assert result.exit_code == 0, result.output
    return {path.stem: Plan.read(path) for path in sorted(out.glob("*.json"))}


def tenants_in(plan: Plan) -> set[str]:
    resources = plan.by_urn()
    return {tenant_of(resource, resources) for resource in plan.resources} - {None}


@pytest.mark.slow
def test_the_fleet_plans_every_stack_of_the_cluster_each_as_planned_alone(tmp_path: Path) -> None:
    plans = fleet(tmp_path, FIXTURE_TENANTS, "--workers", "2")
    assert sorted(plans) == ["dev", "dev.hr", "dev.orders", "dev.payments"]
    assert tenants_in(plans["dev"]) == set()
    for stack, plan in plans.items():
        if stack != "dev":
            assert tenants_in(plan) == {stack.split(".")[1]}
        alone = tmp_path / f"{stack}.json"
        result = runner.invoke(
            cli.app, ["plan", "--stack", stack, "--tenants", str(FIXTURE_TENANTS), "--json", str(alone)]
        )
        assert result.exit_code == 0, result.output
        assert Plan.read(alone) == plan, stack


@pytest.mark.slow
def test_a_change_of_allow_from_changes_only_its_own_tenants_stack(tmp_path: Path) -> None:
    # orders may call payments (payments' allowFrom names it): its egress does not depend on that, so dropping the
    # name changes payments' stack alone, not orders'.
    tenants = tmp_path / "tenants"
    shutil.copytree(FIXTURE_TENANTS, tenants)
    before = fleet(tmp_path, tenants)
    path = tenants / "payments.yaml"
    path.write_text(path.read_text().replace("allowFrom: [orders]", "allowFrom: []"))
    after = fleet(tmp_path, tenants)
    changed = sorted(stack for stack in before if before[stack] != after[stack])
    assert changed == ["dev.payments"]
    assert diff_plans(before["dev.payments"], after["dev.payments"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fleet"], "--fleet writes one plan JSON per stack"),
        (["--fleet", "--json-dir", "out", "--select", "dev.nobody"], "--select: not a stack of cluster dev"),
        (["--json-dir", "out"], "--json-dir, --violations-dir, --select and --workers go with --fleet"),
    ],
)
@pytest.mark.slow
def test_fleet_usage_errors(args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli.app, ["plan", "--stack", "dev", "--tenants", str(FIXTURE_TENANTS), *args])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.slow
def test_a_tenant_stack_of_a_tenant_the_cluster_does_not_manage_is_refused() -> None:
    result = runner.invoke(cli.app, ["plan", "--stack", "dev.nobody", "--tenants", str(FIXTURE_TENANTS)])
    assert result.exit_code == 1
    assert "cluster 'dev' does not manage" in result.output


# --- sharding --------------------------------------------------------------------------------------------------


def project(tmp_path: Path, stacks: dict[str, str]) -> Path:
    for name, settings in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(
            "config:\n  github:owner: example-org\n  aws:region: eu-west-1\n" + CLUSTER_SETTINGS + settings
        )
    return tmp_path


SHARDS = {
    "dev-a": "  imaas:environments: [dev, test]\n  imaas:ownsGlobalResources: true\n  imaas:tenantSelector: ['a*']\n",
    "dev-b": "  imaas:environments: [dev, test]\n  imaas:ownsGlobalResources: true\n"
    "  imaas:ownsSharedResources: false\n"
    "  imaas:githubOidcProviderArn: arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com\n"
    "  imaas:tenantSelector: ['b*']\n",
    "prod": "  imaas:environments: [prod]\n",
}


def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stacks: dict[str, str], **tenants: dict) -> list[str]:
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project(tmp_path, stacks))
    directory = write_tenants(tmp_path / "tenants", **tenants)
    result = runner.invoke(cli.app, ["validate", "--tenants", str(directory)])
    return [line for line in result.output.splitlines() if ": " in line and not line.startswith("✗")]


@pytest.mark.fast
def test_a_split_that_covers_each_tenant_once_is_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert validate(tmp_path, monkeypatch, SHARDS, alpha={}, bravo={}) == []


@pytest.mark.fast
def test_a_tenant_no_shard_manages_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = validate(tmp_path, monkeypatch, SHARDS, alpha={}, charlie={})
    charlie = str(tmp_path / "tenants" / "charlie.yaml")
    assert lines == [
        f"{charlie}:4:9: metadata.name: environment dev of tenant 'charlie' is managed by no stack (see their "
        "tenantSelector); exactly one must manage it",
        f"{charlie}:4:9: metadata.name: environment test of tenant 'charlie' is managed by no stack (see their "
        "tenantSelector); exactly one must manage it",
        f"{charlie}:4:9: metadata.name: global resources of tenant 'charlie' is managed by no stack (see their "
        "tenantSelector); exactly one must manage it",
    ]


@pytest.mark.fast
def test_overlapping_shards_and_two_owners_of_shared_resources_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stacks = {**SHARDS, "dev-b": SHARDS["dev-a"].replace("'a*'", "'*'")}
    lines = validate(tmp_path, monkeypatch, stacks, alpha={}, bravo={})
    assert (
        "imaas:ownsSharedResources: exactly one stack must own the shared resources; found: dev-a, dev-b"
        in "\n".join(lines)
    )
    assert any("environment dev of tenant 'alpha' is managed by stacks dev-a, dev-b" in line for line in lines)


@pytest.mark.fast
def test_an_owner_without_the_shared_resources_needs_the_oidc_provider(tmp_path: Path) -> None:
    settings = SHARDS["dev-b"].replace("  imaas:githubOidcProviderArn", "  #")
    project(tmp_path, {"dev-b": settings})
    with pytest.raises(InputError) as raised:
        read_stack_file(tmp_path, "dev-b")
    assert "needs githubOidcProviderArn" in str(raised.value)


@pytest.mark.fast
def test_the_benchmark_generates_valid_tenants_of_every_shape(tmp_path: Path) -> None:
    generate(tmp_path, 40)
    files, problems = check_tenants(tmp_path)
    assert problems == []
    tenants = [tenant_file.tenant for tenant_file in files]
    assert len(tenants) == 40
    assert {len(tenant.spec.services) for tenant in tenants} == {1, 2, 3, 4, 5}
    assert len({tuple(tenant.spec.environments) for tenant in tenants}) == 3
    assert any(tenant.spec.network.allow_from for tenant in tenants)


@pytest.mark.slow
def test_the_judges_one_fleet_plans_the_selected_stacks_of_every_cluster(tmp_path: Path) -> None:
    out = tmp_path / "judged"
    command = ["plan", "--stack", "all", "--fleet", "--select", "dev.orders", "--select", "prod.orders"]
    result = runner.invoke(cli.app, [*command, "--tenants", str(FIXTURE_TENANTS), "--json-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(path.stem for path in out.glob("*.json")) == ["dev.orders", "prod.orders"]


@pytest.mark.slow
def test_validate_checks_every_clusters_limits_in_one_run(tmp_path: Path) -> None:
    # A quota within prod's quotaMax (128 CPUs) but above dev's (64): one run over every cluster sees it.
    tenants = write_tenants(tmp_path / "tenants", big={"quota": {"cpu": "100"}})
    prod = runner.invoke(cli.app, ["validate", "--tenants", str(tenants), "--stack", "prod"])
    every = runner.invoke(cli.app, ["validate", "--tenants", str(tenants), "--stack", "all"])
    assert prod.exit_code == 0, prod.output
    assert every.exit_code == 1
    assert "quotaMax" in every.output
