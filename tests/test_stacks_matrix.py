"""The stacks the workflows run (DESIGN section 3): per cluster a shared stack and a tenant stack per tenant it
manages, found in the Pulumi.<cluster>.yaml and tenant files, in deployment waves; which stacks a change touches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CLUSTER_SETTINGS, tenant_text
from typer.testing import CliRunner

from imaas import cli
from imaas.checks.sharding import same_cluster_problems
from imaas.ci.stacks import affected, stack_matrix
from imaas.inputs.problems import InputError

pytestmark = pytest.mark.fast

PROVIDER = "  aws:region: eu-west-1\n  github:owner: example-org\n"
OIDC_ARN = "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
DEV = "  kubernetes:context: dev\n  imaas:environments: [dev, test]\n  imaas:ownsGlobalResources: true\n"
PROD = "  kubernetes:context: prod\n  imaas:environments: [prod]\n"


def write_stack(project: Path, name: str, settings: str) -> None:
    (project / f"Pulumi.{name}.yaml").write_text(f"config:\n{PROVIDER}{CLUSTER_SETTINGS}{settings}", encoding="utf-8")


def project(tmp_path: Path) -> Path:
    write_stack(tmp_path, "prod", PROD)
    write_stack(tmp_path, "dev", DEV)
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    (tenants / "pay.yaml").write_text(tenant_text("pay", "environments: [dev, prod]\n"), encoding="utf-8")
    (tenants / "hr.yaml").write_text(tenant_text("hr", "environments: [dev]\n"), encoding="utf-8")
    (tenants / "web.yaml").write_text(
        tenant_text("web", "environments: [dev, prod]\nnetwork:\n  allowFrom: [pay]\n"), encoding="utf-8"
    )
    return tmp_path


def test_each_cluster_has_a_shared_stack_and_a_stack_per_tenant_it_manages_in_waves(tmp_path: Path) -> None:
    matrix = stack_matrix(project(tmp_path))
    assert [(e.name, e.wave) for e in matrix.entries] == [
        ("dev", 1), ("prod", 1),
        # The cluster owning global resources has every tenant's stack (their repositories), first.
        ("dev.hr", 2), ("dev.pay", 2), ("dev.web", 2),
        # A hosting cluster has the stacks of the tenants with an environment there.
        ("prod.pay", 3), ("prod.web", 3),
    ]  # fmt: skip
    data = matrix.as_json()
    assert data["shared"] == ["dev", "prod"]
    assert data["waves"] == {"1": ["dev", "prod"], "2": ["dev.hr", "dev.pay", "dev.web"], "3": ["prod.pay", "prod.web"]}


def test_a_wave_is_cut_into_at_most_the_matrix_limit_of_batches(tmp_path: Path) -> None:
    matrix = stack_matrix(project(tmp_path))
    assert matrix.batches(2, limit=2) == ["dev.hr dev.pay dev.web"]
    assert matrix.batches(2) == ["dev.hr", "dev.pay", "dev.web"]
    assert matrix.batches(4) == []
    # Previews and drift checks run every stack at once, batched per cluster (its environment's credentials).
    assert matrix.jobs(matrix.entries, limit=5) == [
        {"cluster": "dev", "stacks": "dev dev.hr dev.pay"}, {"cluster": "dev", "stacks": "dev.web"},
        {"cluster": "prod", "stacks": "prod prod.pay prod.web"},
    ]  # fmt: skip
    assert len(matrix.jobs(matrix.entries)) == 7


def test_a_tenant_file_touches_that_tenants_stacks_on_every_cluster_and_no_peers(tmp_path: Path) -> None:
    matrix = stack_matrix(project(tmp_path))
    # web names pay in allowFrom: a change of web's file changes no stack of pay's (egress does not depend on it).
    assert affected(matrix, ["tenants/web.yaml"]).stacks == ["dev.web", "prod.web"]
    assert affected(matrix, ["tenants/pay.yaml", "docs/tenants.md", "README.md"]).stacks == ["dev.pay", "prod.pay"]
    assert affected(matrix, ["docs/operators.md"]).stacks == []


@pytest.mark.parametrize("path", ["components/tenant.py", "Pulumi.prod.yaml", "templates/service/pom.xml"])
def test_anything_else_the_program_reads_touches_every_stack(tmp_path: Path, path: str) -> None:
    matrix = stack_matrix(project(tmp_path))
    assert affected(matrix, ["tenants/pay.yaml", path]).stacks == matrix.stacks


def test_a_project_without_settings_files_has_no_stacks(tmp_path: Path) -> None:
    assert stack_matrix(tmp_path).stacks == []


def test_a_settings_file_left_by_stack_init_is_no_cluster(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "Pulumi.dev.pay.yaml").write_text("encryptionsalt: v1:abc\n", encoding="utf-8")
    assert stack_matrix(tmp_path).shared == ["dev", "prod"]


def test_an_invalid_settings_file_is_refused(tmp_path: Path) -> None:
    write_stack(tmp_path, "dev", "  imaas:environments: [dev]\n  imaas:ownsGlobalResources: maybe\n")
    with pytest.raises(InputError):
        stack_matrix(tmp_path)


def test_two_shared_stacks_on_one_cluster_are_refused(tmp_path: Path) -> None:
    # The shards of one cluster that `tenantSelector` once allowed: both would declare its shared objects.
    project(tmp_path)
    write_stack(tmp_path, "prod-b", PROD + "  imaas:tenantSelector: ['[n-z]*']\n")
    problems = same_cluster_problems(tmp_path)
    assert sorted((p.file.rsplit("/", 1)[-1], p.field) for p in problems) == [
        ("Pulumi.prod-b.yaml", "kubernetes:context"),
        ("Pulumi.prod.yaml", "kubernetes:context"),
    ]
    assert "one cluster has one shared stack" in problems[0].message


def test_the_command_lists_stacks_and_waves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project(tmp_path))
    result = CliRunner().invoke(cli.app, ["stacks", "--format", "json", "--tenant", "pay"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["stacks"] == ["dev.pay", "prod.pay"]
    text = CliRunner().invoke(cli.app, ["stacks"])
    assert text.stdout.splitlines()[:3] == ["dev\twave 1\tdev\tshared", "prod\twave 1\tprod\tshared",
                                            "dev.hr\twave 2\tdev\ttenant hr"]  # fmt: skip
