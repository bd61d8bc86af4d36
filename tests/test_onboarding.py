"""An onboarding pull request keeps the tests green, proved without running the suite a second time.

Two facts make it so. No test reads the shipped `tenants/` folder: `tests/tiers.py` fails, in every run, any test
that opens a file there or runs `imaas validate|plan` on it, so adding a file there cannot change a test's outcome
(the guard itself is tested below). And a tenant made as a team makes its own (`imaas new`, then services,
`allowFrom` and an environment subset added by hand) validates and plans on every stack beside an existing tenant
set, which is what the pull request's own checks then run on the real folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from planning import FIXTURE_TENANTS, plan_stack
from tiers import PROJECT_DIR, _runs_imaas_on_shipped_tenants, _under_shipped_tenants
from typer.testing import CliRunner

from imaas import cli

runner = CliRunner()


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture tenants plus one made with `imaas new` and edited by hand."""
    tenants = tmp_path_factory.mktemp("onboarding") / "tenants"
    shutil.copytree(FIXTURE_TENANTS, tenants)
    taken = {path.stem for path in tenants.iterdir()}
    name = next(f"onboard-{index}" for index in range(len(taken) + 1) if f"onboard-{index}" not in taken)
    starter = ["--contact", f"{name}@example.com", "--maintainer", "zz-lead", "--service", "feed"]
    made = runner.invoke(cli.app, ["new", name, *starter, "--tenants", str(tenants)])
    assert made.exit_code == 0, made.output
    tenant = tenants / f"{name}.yaml"
    document = yaml.safe_load(tenant.read_text())
    spec = document["spec"]
    spec["environments"] = ["dev", "prod"]
    spec["services"] += [{"name": "ledger-sync", "environments": ["prod"], "description": "Ledger to ERP"}]
    neighbours = sorted(path.stem for path in tenants.glob("*.yaml") if path != tenant)
    spec["network"] = {"allowFrom": neighbours[:1]}
    tenant.write_text(yaml.safe_dump(document, sort_keys=False))
    return tenants


@pytest.mark.slow
def test_a_tenant_made_as_a_team_makes_it_validates_beside_the_others(onboarded: Path) -> None:
    for stack in ("dev", "prod"):
        valid = runner.invoke(cli.app, ["validate", "--tenants", str(onboarded), "--stack", stack])
        assert valid.exit_code == 0, valid.output


@pytest.mark.slow
def test_a_tenant_made_as_a_team_makes_it_plans_on_every_stack(onboarded: Path, stack: str) -> None:
    plan = plan_stack(stack, onboarded)
    namespaces = {resource.name for resource in plan.resources if resource.type == "kubernetes:core/v1:Namespace"}
    onboarded_name = next(path.stem for path in onboarded.glob("onboard-*.yaml"))
    expected = {"dev": {f"{onboarded_name}-dev"}, "prod": {f"{onboarded_name}-prod"}}[stack]
    assert expected <= namespaces


@pytest.mark.fast
def test_the_guard_knows_the_shipped_tenants_folder_by_any_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_DIR)
    assert _under_shipped_tenants("tenants/payments.yaml")
    assert _under_shipped_tenants(str(PROJECT_DIR / "tenants"))
    assert _under_shipped_tenants(os.fsencode(PROJECT_DIR / "tenants" / "x.yaml"))
    assert _under_shipped_tenants("tests/../tenants/x.yaml")
    assert not _under_shipped_tenants(str(FIXTURE_TENANTS / "orders.yaml"))
    assert not _under_shipped_tenants("tenants-old/x.yaml")


@pytest.mark.fast
def test_the_guard_knows_an_imaas_command_that_reads_the_shipped_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(PROJECT_DIR)
    assert _runs_imaas_on_shipped_tenants(["python", "-m", "imaas", "validate"], None)
    assert _runs_imaas_on_shipped_tenants(["python", "-m", "imaas", "plan", "--stack", "dev"], PROJECT_DIR)
    assert not _runs_imaas_on_shipped_tenants(["python", "-m", "imaas", "validate", "--tenants", "x"], None)
    assert not _runs_imaas_on_shipped_tenants(["python", "-m", "imaas", "validate"], FIXTURE_TENANTS)


@pytest.mark.fast
def test_reading_the_shipped_folder_fails_the_test() -> None:
    from tiers import TierError, _Running

    with pytest.raises(TierError, match="reads the shipped tenants/ folder"):
        os.listdir(PROJECT_DIR / "tenants")
    # Recorded too, so that a caller catching it cannot hide it; this test provoked it on purpose.
    assert len(_Running.violations) == 1
    _Running.violations.clear()
