"""`imaas diff`: added, changed and removed resources, and the deletions that must fail the check."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from planning import FIXTURE_TENANTS, example_plan, plan_stack
from tokens import ECR, NAMESPACE, QUOTA
from typer.testing import CliRunner

from imaas import cli
from imaas.plan.diff import diff_plans
from imaas.plan.record import Plan, PlannedResource

runner = CliRunner()
PREFIX = "urn:pulumi:dev::imaas::"


def resource(type_: str, name: str, **options: object) -> PlannedResource:
    inputs = {"metadata": {"name": name, "labels": {"imaas.io/tenant": "a"}}}
    return PlannedResource(f"{PREFIX}{type_}::{name}", type_, name, None, True, inputs, **options)


@pytest.mark.fast
def test_added_changed_removed_and_unchanged() -> None:
    kept, changed, removed = resource(NAMESPACE, "a-dev"), resource(QUOTA, "a-dev"), resource(QUOTA, "b-dev")
    added = resource(QUOTA, "c-dev")
    relabelled = replace(changed, inputs={"metadata": {"name": "a-dev"}}, retainOnDelete=True)
    changes = diff_plans(
        Plan("imaas", "dev", [kept, changed, removed]), Plan("imaas", "dev", [kept, relabelled, added])
    )
    assert [(change.action, change.resource.name, change.lines()) for change in changes] == [
        ("change", "a-dev", ['- metadata.labels: {"imaas.io/tenant": "a"}', "~ (retainOnDelete): false -> true"]),
        ("delete", "b-dev", []),
        ("add", "c-dev", []),
    ]
    assert not any(change.destructive for change in changes)


@pytest.mark.fast
def test_deleting_protected_or_unretained_data_is_destructive_and_retained_is_not() -> None:
    protected = resource(QUOTA, "p", protect=True)
    registry = resource(ECR, "a/svc")
    retained = resource(NAMESPACE, "a-dev", retainOnDelete=True)
    changes = diff_plans(Plan("imaas", "dev", [protected, registry, retained]), Plan("imaas", "dev", []))
    assert {change.resource.name: change.destructive for change in changes} == {
        "p": True,
        "a/svc": True,
        "a-dev": False,
    }


@pytest.mark.fast
def test_cli_exits_1_only_for_destructive_deletions(tmp_path: Path) -> None:
    base, head, safe = tmp_path / "base.json", tmp_path / "head.json", tmp_path / "safe.json"
    Plan("imaas", "dev", [resource(ECR, "a/svc"), resource(NAMESPACE, "a-dev", retainOnDelete=True)]).write(base)
    Plan("imaas", "dev", [resource(NAMESPACE, "a-dev", retainOnDelete=True)]).write(head)
    Plan("imaas", "dev", [resource(ECR, "a/svc")]).write(safe)
    failing = runner.invoke(cli.app, ["diff", str(base), str(head)])
    assert failing.exit_code == 1
    assert "a/svc" in failing.output
    assert "DELETES A DATA-HOLDING RESOURCE" in failing.output
    passing = runner.invoke(cli.app, ["diff", str(base), str(safe)])
    assert passing.exit_code == 0, passing.output
    assert "left in place (retainOnDelete)" in passing.output


@pytest.mark.fast
def test_cli_rejects_a_file_that_is_not_a_plan(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"project": "imaas"}')
    result = runner.invoke(cli.app, ["diff", str(tmp_path / "x.json"), str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert "not a plan JSON file" in result.output
    assert "Traceback" not in result.output


@pytest.mark.fast
def test_cli_refuses_to_compare_plans_of_different_stacks(tmp_path: Path) -> None:
    dev, prod = tmp_path / "dev.json", tmp_path / "prod.json"
    Plan("imaas", "dev", [resource(NAMESPACE, "a-dev", retainOnDelete=True)]).write(dev)
    Plan("imaas", "prod", [resource(NAMESPACE, "a-prod", retainOnDelete=True)]).write(prod)
    result = runner.invoke(cli.app, ["diff", str(dev), str(prod)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {prod}: plans stack imaas/prod, but {dev} plans imaas/dev"


@pytest.mark.fast
def test_the_text_table_groups_changes_by_tenant_and_the_platform_last(tmp_path: Path) -> None:
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    shared = PlannedResource(f"{PREFIX}{QUOTA}::shared", QUOTA, "shared", None, True, {})
    tenant_b = replace(resource(QUOTA, "b-dev"), inputs={"metadata": {"labels": {"imaas.io/tenant": "b"}}})
    Plan("imaas", "dev", []).write(base)
    Plan("imaas", "dev", [shared, tenant_b, resource(QUOTA, "a-dev")]).write(head)
    result = runner.invoke(cli.app, ["diff", str(base), str(head)])
    rows = [line.split("│")[2:4] for line in result.output.splitlines() if line.startswith("│")]
    assert [(tenant.strip(), type_.strip()) for tenant, type_ in rows] == [
        ("a", QUOTA),
        ("b", QUOTA),
        ("platform", QUOTA),
    ]


def edited_fixtures(tmp_path: Path, tenant: str, old: str, new: str) -> Path:
    """The fixture tenants, with one edit to one file."""
    folder = tmp_path / "tenants"
    shutil.copytree(FIXTURE_TENANTS, folder)
    path = folder / f"{tenant}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


def dangers(head: Plan) -> dict[str, str]:
    return {change.resource.name: change.danger for change in diff_plans(example_plan("dev"), head) if change.danger}


FENCES = ("hr-test-quota", "hr-test-limits", "hr-test-isolation", "hr-test-tenant-developer")


@pytest.mark.slow
def test_an_environment_dropped_from_a_tenant_fails_on_its_fences_while_the_namespace_stays(tmp_path: Path) -> None:
    head = plan_stack("dev", edited_fixtures(tmp_path, "hr", "  network:\n", "  environments: [dev]\n  network:\n"))
    found = dangers(head)
    fence = "removes a fence of namespace 'hr-test', which stays"
    assert {name: found[name] for name in FENCES} == dict.fromkeys(FENCES, fence)
    assert found["hr-employee-sync-test"].startswith("stops a service that is not retired")


@pytest.mark.slow
def test_an_environment_dropped_from_a_service_fails_and_retiring_it_does_not(tmp_path: Path) -> None:
    dropped = "      environments: [dev, test]\n"
    head = plan_stack("dev", edited_fixtures(tmp_path / "a", "orders", dropped, "      environments: [dev]\n"))
    assert dangers(head) == {
        "orders-order-events-test": "stops a service that is not retired: Argo CD deletes what this Application "
        "deployed"
    }
    retired = plan_stack(
        "dev", edited_fixtures(tmp_path / "b", "orders", dropped, dropped + "      lifecycle: retired\n")
    )
    assert dangers(retired) == {}
