"""`imaas new`: a starter tenant file that is valid beside the folder's other tenants and managed by a stack."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CLUSTER_SETTINGS, write_tenant
from typer.testing import CliRunner

from imaas import cli
from imaas.cli.starter import schema_reference
from imaas.inputs.tenant_files import read_tenant_file

pytestmark = pytest.mark.fast

runner = CliRunner()
STARTER = ["--contact", "billing@example.com", "--maintainer", "zoe"]


def new(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    result = runner.invoke(cli.app, ["new", *args, "--tenants", str(tmp_path)])
    return result.exit_code, result.output.splitlines()


def test_new_writes_a_valid_starter_and_refuses_to_overwrite(tmp_path: Path) -> None:
    code, _ = new(tmp_path, "billing", *STARTER)
    assert code == 0
    tenant = read_tenant_file(tmp_path / "billing.yaml").tenant
    assert (tenant.name, tenant.metadata.contact, tenant.spec.team.maintainers) == (
        "billing",
        "billing@example.com",
        ["zoe"],
    )
    assert [service.name for service in tenant.spec.services] == ["hello"]
    assert tenant.environments == ["dev", "test", "prod"]
    code, output = new(tmp_path, "billing", *STARTER)
    assert code == 1
    assert "already exists" in output[0]


def test_new_takes_services_environments_and_allow_from(tmp_path: Path) -> None:
    write_tenant(tmp_path, "orders")
    args = [
        "--service",
        "invoices",
        "--service",
        "reminders",
        "--env",
        "prod",
        "--env",
        "dev",
        "--allow-from",
        "orders",
    ]

    code, output = new(tmp_path, "billing", *STARTER, *args)

    assert code == 0, output
    tenant = read_tenant_file(tmp_path / "billing.yaml").tenant
    assert [service.name for service in tenant.spec.services] == ["invoices", "reminders"]
    assert tenant.environments == ["dev", "prod"]
    assert tenant.spec.network.allow_from == ["orders"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["Bad_Name", *STARTER],
            ["error: NAME 'Bad_Name': must be lower case, got 'Bad_Name'; did you mean 'bad-name'?"],
        ),
        (["platform", *STARTER], ["error: NAME 'platform': 'platform' is reserved for the platform"]),
        (
            ["billing", "--contact", "a@example.com # note", "--maintainer", "zoe"],
            ["error: --contact 'a@example.com # note': must be an e-mail address, got 'a@example.com # note'"],
        ),
        (
            ["billing", *STARTER, "--maintainer", "Bad Login"],
            [
                "error: --maintainer 'Bad Login': must be a GitHub login (letters, digits and single dashes, not"
                " starting or ending with one), got 'Bad Login'"
            ],
        ),
        (
            ["billing", *STARTER, "--service", "ok", "--service", "Order Sync", "--env", "staging"],
            [
                "error: --env 'staging': must be one of 'dev', 'test' or 'prod', got 'staging'",
                "error: --service 'Order Sync': must be lower case, got 'Order Sync'; did you mean 'order-sync'?",
            ],
        ),
        (["billing", *STARTER, "--env", "dev", "--env", "dev"], ["error: --env 'dev': given more than once"]),
        (
            ["billing", *STARTER, "--allow-from", "nobody"],
            ["error: --allow-from 'nobody': must name an existing tenant: there is no tenant named 'nobody'"],
        ),
        (
            ["billing", *STARTER, "--allow-from", "billing"],
            ["error: --allow-from 'billing': must not name the tenant itself, which always reaches itself"],
        ),
    ],
    ids=["name", "reserved", "contact", "maintainer", "service-and-env", "repeated", "unknown-peer", "itself"],
)
def test_new_says_which_argument_is_wrong(tmp_path: Path, args: list[str], expected: list[str]) -> None:
    code, output = new(tmp_path, *args)

    # No "problem in 1 file" line: no file was written.
    assert (code, output) == (2, expected)
    assert not list(tmp_path.iterdir())


def test_new_refuses_a_name_whose_derived_names_are_taken(tmp_path: Path) -> None:
    write_tenant(tmp_path, "ab-c", "services:\n  - name: de\n")

    code, output = new(tmp_path, "ab", *STARTER, "--service", "c-de")

    assert code == 2
    assert output[0].startswith("error: --service 'c-de': ")


def test_new_needs_a_contact_and_a_maintainer(tmp_path: Path) -> None:
    code, output = new(tmp_path, "billing")
    assert code == 2
    assert "Missing option '--contact'" in "\n".join(output)


def project_with_one_stack(project: Path, monkeypatch: pytest.MonkeyPatch, selector: str = "*") -> Path:
    """A project whose one stack hosts every environment and manages the tenants `selector` matches."""
    project.mkdir(exist_ok=True)
    (project / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  github:owner: example-org\n  imaas:environments: [dev, test, prod]\n"
        f"  imaas:ownsGlobalResources: true\n  imaas:tenantSelector: ['{selector}']\n{CLUSTER_SETTINGS}",
        encoding="utf-8",
    )
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project)
    return project


def test_new_refuses_a_tenant_that_no_stack_would_manage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = project_with_one_stack(tmp_path / "project", monkeypatch, "a*")

    assert new(project / "tenants", "alpha", *STARTER)[0] == 0
    code, output = new(project / "tenants", "billing", *STARTER)

    assert code == 2
    assert output[0] == (
        "error: NAME 'billing': environment dev of tenant 'billing' is managed by no stack (see their tenantSelector);"
        " exactly one must manage it"
    )
    assert not (project / "tenants" / "billing.yaml").exists()


def test_the_modeline_points_at_the_schema_from_the_tenants_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_with_one_stack(tmp_path, monkeypatch)
    schema = (tmp_path / "schema" / "tenant.schema.json").as_posix()

    assert schema_reference(tmp_path / "tenants", tmp_path) == "../schema/tenant.schema.json"
    assert schema_reference(tmp_path / "shards" / "eu", tmp_path) == "../../schema/tenant.schema.json"
    assert schema_reference(tmp_path.parent / "elsewhere", tmp_path) == schema
    assert new(tmp_path / "shards" / "eu", "billing", *STARTER)[0] == 0
    first_line = (tmp_path / "shards" / "eu" / "billing.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=../../schema/tenant.schema.json"
