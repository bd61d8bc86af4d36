"""Decommissioning a retired tenant for good: a platform admin's step after retirement, which has the platform
forget everything the tenant had, leaving it in place, and keeps the tenant's name taken."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import git, lines, write_tenant, write_tenants
from planning import plan_stack
from tokens import NAMESPACE, TENANT_COMPONENT

from imaas.checks.tenants import check_tenants
from imaas.plan.diff import compare_plans
from imaas.plan.markdown import diff_markdown
from imaas.plan.record import Plan

pytestmark = pytest.mark.slow

SERVICES = "services:\n  - name: api\n"


def lifecycle(value: str) -> str:
    return f"lifecycle: {value}\n{SERVICES}"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    tenants = tmp_path / "tenants"
    write_tenant(tenants, "shop", lifecycle("retired"))
    write_tenant(tenants, "live", SERVICES)
    for args in (
        ("init", "-q"),
        ("add", "-A"),
        ("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "base"),
    ):
        git(tmp_path, *args)
    return tenants


def problems(tenants: Path) -> list[str]:
    return lines(check_tenants(tenants, None, "HEAD")[1])


def test_a_retired_tenant_may_be_decommissioned_and_an_active_one_may_not(repo: Path) -> None:
    write_tenant(repo, "shop", lifecycle("decommissioned"))
    assert problems(repo) == []
    write_tenant(repo, "live", lifecycle("decommissioned"))
    [problem] = problems(repo)
    assert problem.endswith(
        "spec.lifecycle: tenant 'live' is active at the base: set spec.lifecycle: retired first and let that be "
        "deployed, then decommission it"
    )


def test_a_decommissioned_tenant_stays_so_and_no_tenant_names_it(repo: Path, tmp_path: Path) -> None:
    write_tenant(repo, "shop", lifecycle("decommissioned"))
    git(tmp_path, "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qam", "decommissioned")
    write_tenant(repo, "shop", lifecycle("active"))
    assert any("tenant 'shop' was decommissioned" in line for line in problems(repo))
    write_tenant(repo, "shop", lifecycle("decommissioned"))
    write_tenant(repo, "live", f"network:\n  allowFrom: [shop]\n{SERVICES}")
    assert any("allowFrom[0]: must name an active tenant: 'shop' is decommissioned" in line for line in problems(repo))


def test_the_program_forgets_a_decommissioned_tenant_but_says_so(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants", shop={"lifecycle": "decommissioned", "services": [{"name": "api"}]})
    for stack in ("dev", "prod"):
        plan = plan_stack(stack, tenants)
        under = [r for r in plan.resources if "::shop" in r.urn or "shop-" in r.name or "shop/" in r.name]
        assert [(r.type, r.inputs) for r in under] == [(TENANT_COMPONENT, {"lifecycle": "decommissioned"})]


def test_the_diff_of_a_decommissioning_forgets_without_failing_and_asks_for_the_unprotect(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants", shop={"lifecycle": "retired", "services": [{"name": "api"}]})
    base = plan_stack("dev", tenants)
    write_tenants(tenants, shop={"lifecycle": "decommissioned", "services": [{"name": "api"}]})
    head = plan_stack("dev", tenants)
    compared = compare_plans(base, head)
    deleted = [change for change in compared.changes if change.action == "delete"]
    assert deleted and not any(change.destructive for change in deleted)
    namespace = next(change for change in deleted if change.resource.type == NAMESPACE)
    assert namespace.note == "decommissioned: forgotten and left in place, once a platform admin unprotects it"
    text = diff_markdown(compared.changes, resources=base.by_urn() | head.by_urn())
    assert "> [!IMPORTANT]" in text and "pulumi state unprotect" in text
    # The same deletions by any other change lose data: the diff fails them.
    gone = Plan("imaas", "dev", [r for r in head.resources if r.type != TENANT_COMPONENT or r.name != "shop"])
    assert any(change.destructive for change in compare_plans(base, gone).changes)
