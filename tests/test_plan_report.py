"""What `imaas plan` and `imaas diff` print for people: a summary per tenant,
findings by tenant and name, compact trees that keep types and flags apart, and an empty diff that says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_tenants
from planning import FIXTURE_TENANTS
from typer.testing import CliRunner

from imaas import cli

pytestmark = pytest.mark.slow

runner = CliRunner()


def plan(*args: str) -> str:
    result = runner.invoke(cli.app, ["plan", "--stack", "dev", "--whole-cluster", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_summary_counts_resources_per_tenant_and_type() -> None:
    output = plan("--tenants", str(FIXTURE_TENANTS), "--summary")
    assert "resources by tenant" in output
    rows = {line.split("│")[1].strip() for line in output.splitlines() if line.startswith("│") and "│" in line[1:]}
    assert {"hr", "orders", "payments", "platform"} <= rows
    assert "└── imaas Platform" not in output  # the summary instead of the tree


def test_an_advisory_names_the_tenant_and_the_resource_not_a_urn() -> None:
    output = plan("--tenants", str(FIXTURE_TENANTS))
    assert "advisory quota-within-size: tenant payments: kubernetes:ResourceQuota payments-dev-quota: " in output
    assert "urn:pulumi" not in output


def test_the_compact_tree_keeps_types_of_two_providers_and_their_flags_apart(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants", **{f"t{i:02d}": {"services": [{"name": "api"}]} for i in range(12)})
    output = plan("--tenants", str(tenants))
    assert "aws:Repository x1 protected retained" in output
    assert "github:Repository x1 protected retained" in output
    assert "Repository x2" not in output


def test_an_empty_diff_says_nothing_changed(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    plan("--tenants", str(FIXTURE_TENANTS), "--json", str(out))
    result = runner.invoke(cli.app, ["diff", str(out), str(out)])
    assert result.exit_code == 0
    assert "no changes:" in result.output and "resources unchanged" in result.output
    assert "┏" not in result.output  # no empty table
