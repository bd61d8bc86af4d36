"""Generated files in sync with the models, the model layer free of Pulumi, and the small commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from imaas import cli, docs
from imaas.inputs.tenant_files import read_tenant_file
from imaas.model.schema import tenant_schema_text

runner = CliRunner()


def test_schema_file_is_up_to_date() -> None:
    assert docs.SCHEMA_PATH.read_text() == tenant_schema_text(), "schema/tenant.schema.json is stale: run make docs"


def test_readme_tenant_reference_is_up_to_date() -> None:
    readme = docs.README_PATH.read_text()
    assert docs.readme_with_reference(readme) == readme, "README tenant reference is stale: run make docs"
    assert "| `spec.services[].visibility` |" in readme


def test_schema_command_prints_the_schema() -> None:
    result = runner.invoke(cli.app, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["properties"]["apiVersion"]["const"] == "imaas.io/v1alpha1"


@pytest.mark.parametrize("command", ["validate", "plan", "diff", "new", "schema"])
def test_every_command_has_help(command: str) -> None:
    result = runner.invoke(cli.app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_new_writes_a_valid_starter_and_refuses_to_overwrite(tmp_path: Path) -> None:
    args = ["new", "billing", "--contact", "billing@example.com", "--maintainer", "zoe", "--tenants", str(tmp_path)]
    first = runner.invoke(cli.app, args)
    assert first.exit_code == 0, first.output
    tenant = read_tenant_file(tmp_path / "billing.yaml").tenant
    assert (tenant.name, tenant.metadata.contact, tenant.spec.team.maintainers) == (
        "billing",
        "billing@example.com",
        ["zoe"],
    )
    second = runner.invoke(cli.app, args)
    assert second.exit_code == 1
    assert "already exists" in second.output


@pytest.mark.parametrize(
    ("name", "contact", "message"),
    [
        ("Bad_Name", "a@example.com", "arguments: metadata.name: must match"),
        ("platform", "a@example.com", "arguments: metadata.name: 'platform' is reserved for the platform"),
        ("billing", "a@example.com # note", "arguments: metadata.contact: must match"),
        ("billing", "a@example.com\nkind: Other", "arguments: metadata.contact: must match"),
    ],
)
def test_new_refuses_arguments_that_would_not_make_a_valid_tenant(
    tmp_path: Path, name: str, contact: str, message: str
) -> None:
    result = runner.invoke(
        cli.app, ["new", name, "--contact", contact, "--maintainer", "zoe", "--tenants", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert not list(tmp_path.iterdir())


def test_new_needs_a_contact_and_a_maintainer(tmp_path: Path) -> None:
    result = runner.invoke(cli.app, ["new", "billing", "--tenants", str(tmp_path)])
    assert result.exit_code == 2
    assert "Missing option '--contact'" in result.output
