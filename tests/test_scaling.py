"""Partial plans (`plan --only`, `--changed-since`) and their diffs, and splitting tenants over stacks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from helpers import CLUSTER_SETTINGS, git, write_tenants
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


def plan_json(tmp_path: Path, *args: str) -> Plan:
    out = tmp_path / f"plan-{len(list(tmp_path.glob('plan-*')))}.json"
    tenants = [] if "--tenants" in args else ["--tenants", str(FIXTURE_TENANTS)]
    result = runner.invoke(cli.app, ["plan", "--stack", "dev", "--json", str(out), *tenants, *args])
    assert result.exit_code == 0, result.output
    return Plan.read(out)


def tenants_in(plan: Plan) -> set[str]:
    resources = plan.by_urn()
    return {tenant_of(resource, resources) for resource in plan.resources} - {None}


def shared(plan: Plan) -> dict[str, dict]:
    resources = plan.by_urn()
    return {r.urn: r.inputs for r in plan.resources if tenant_of(r, resources) is None}


@pytest.mark.slow
def test_only_plans_the_named_tenant_its_neighbours_and_the_same_shared_resources(tmp_path: Path) -> None:
    full = plan_json(tmp_path)
    partial = plan_json(tmp_path, "--only", "payments")
    # payments names orders in allowFrom; hr does not touch payments.
    assert partial.only == ["orders", "payments"]
    assert tenants_in(partial) == {"orders", "payments"}
    assert shared(partial) == shared(full)
    assert diff_plans(full, partial) == []
    assert "only" not in json.loads((tmp_path / "plan-0.json").read_text())


@pytest.mark.slow
def test_a_partial_diff_shows_the_change_and_deletes_nothing_it_did_not_plan(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    shutil.copytree(FIXTURE_TENANTS, tenants)
    base = plan_json(tmp_path, "--tenants", str(tenants))
    path = tenants / "hr.yaml"
    path.write_text(path.read_text().replace("allowFrom: [orders]", "allowFrom: [orders, payments]"))
    head = plan_json(tmp_path, "--tenants", str(tenants), "--only", "hr")
    assert head.only == ["hr", "orders", "payments"]
    changes = diff_plans(base, head)
    # payments has no test environment: only the dev policies of the two change.
    assert {(change.action, change.resource.name) for change in changes} == {
        ("change", "hr-dev-isolation"),
        ("change", "payments-dev-isolation"),
    }


@pytest.mark.slow
def test_changed_since_plans_the_changed_tenants_and_their_neighbours(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants", alpha={}, beta={"network": {"allowFrom": ["alpha"]}}, gamma={})
    git(tenants, "init", "-q")
    git(tenants, "-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".")
    git(tenants, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "tenants")
    write_tenants(tenants, alpha={"size": "medium"}, delta={})
    plan = plan_json(tmp_path, "--tenants", str(tenants), "--changed-since", "HEAD")
    assert plan.only == ["alpha", "beta", "delta"]
    assert tenants_in(plan) == {"alpha", "beta", "delta"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--only", "nobody"], "--only: no tenant named nobody"),
        (["--changed-since", "no-such-ref"], "no-such-ref: not a commit of the git repository"),
    ],
)
@pytest.mark.slow
def test_partial_plans_refuse_unknown_tenants_and_revisions(args: list[str], message: str) -> None:
    result = runner.invoke(cli.app, ["plan", "--stack", "dev", "--tenants", str(FIXTURE_TENANTS), *args])
    assert result.exit_code == 2
    assert message in result.output


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
