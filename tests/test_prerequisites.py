"""Prerequisites as settings (imaas/checks/prerequisites.py): a stack declaring Argo CD objects says where Argo CD
comes from, and one whose Applications read private repositories has a credential for them; otherwise the program
refuses it before declaring anything, with one line naming the setting to add."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import copy_project, write_tenants
from planning import FIXTURE_TENANTS, plan_stack
from typer.testing import CliRunner

from imaas import cli
from imaas.checks import prerequisites
from imaas.inputs.problems import InputError
from imaas.model.settings import StackSettings

runner = CliRunner()
NO_ARGOCD = {"argocdPreinstalled": None}
ARGOCD_MESSAGE = (
    "Pulumi.{stack}.yaml: imaas:argocdPreinstalled: the stack declares Argo CD AppProjects and Applications "
    "(3 tenants) but neither installs Argo CD nor says the cluster has it: set imaas:argocdPreinstalled: true where "
    "the cluster runs Argo CD, or imaas:observability.argocd.install: true to install it"
)


def refusal(stack: str, tenants: Path = FIXTURE_TENANTS, **settings: object) -> list[str]:
    with pytest.raises(InputError) as raised:
        plan_stack(stack, tenants, **settings)
    return [str(problem) for problem in raised.value.problems]


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_stack_with_argo_cd_objects_and_no_argo_cd_is_refused_naming_the_setting(stack: str) -> None:
    assert refusal(stack, **NO_ARGOCD) == [ARGOCD_MESSAGE.format(stack=stack)]


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_installing_argo_cd_or_saying_the_cluster_has_it_is_enough(stack: str) -> None:
    plan_stack(stack, **NO_ARGOCD, observability={"argocd": {"install": True}})
    plan_stack(stack)


@pytest.mark.slow
def test_installing_argo_cd_on_a_cluster_that_has_it_is_refused() -> None:
    [problem] = refusal("dev", observability={"argocd": {"install": True}})
    assert "argocdPreinstalled and observability.argocd.install" in problem
    assert "set only one" in problem


@pytest.mark.slow
def test_a_stack_without_argo_cd_objects_needs_neither(tmp_path: Path) -> None:
    # Tenants of environments the prod cluster does not host: no AppProject, no Application on it.
    tenants = write_tenants(tmp_path / "tenants", alpha={"environments": ["dev"]})
    plan = plan_stack("prod", tenants, **NO_ARGOCD)
    assert not [r for r in plan.resources if r.type.startswith("kubernetes:argoproj.io")]


@pytest.mark.slow
def test_the_plan_command_exits_1_with_one_line_and_writes_no_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    copy_project(project)
    path = project / "Pulumi.prod.yaml"
    config = yaml.safe_load(path.read_text())
    del config["config"]["imaas:argocdPreinstalled"]
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project)
    out = tmp_path / "plan.json"
    result = runner.invoke(cli.app, ["plan", "--stack", "prod", "--tenants", str(FIXTURE_TENANTS), "--json", str(out)])
    assert result.exit_code == 1, result.output
    assert ARGOCD_MESSAGE.format(stack="prod") in result.output.splitlines()
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.fast
def test_a_repository_credential_is_one_function_of_a_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each stack's deploy keys cover every repository its Applications read; a repository no function in the list
    covers is refused, naming it."""
    settings = StackSettings(
        environments=["dev"], ingress_host_suffix="apps.example.com",
        ecr_registry="123456789012.dkr.ecr.eu-west-1.amazonaws.com", argocd_impersonation=True,
        argocd_preinstalled=True,
    )  # fmt: skip
    objects = prerequisites.ArgoCdObjects(projects=["alpha"], repositories=["alpha-one", "alpha-two"])
    assert (prerequisites.deploy_key,) == prerequisites.REPOSITORY_CREDENTIALS
    assert prerequisites.repository_credentials(settings, objects) is None

    def only_one(settings: StackSettings, repository: str) -> bool:
        return repository == "alpha-one"

    monkeypatch.setattr(prerequisites, "REPOSITORY_CREDENTIALS", (only_one,))
    refused = prerequisites.repository_credentials(settings, objects)
    assert refused is not None
    setting, message = refused
    assert setting == "github:owner"
    assert "(alpha-two)" in message
