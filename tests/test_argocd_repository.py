"""How each cluster's Argo CD reads the private and internal service repositories: per service repository and per
stack, a generated Ed25519 key pair, its public half a read-only deploy key on that repository, and a `repository`
Secret for that repository's SSH URL alone, scoped to its tenant's AppProject. No organisation-wide credential."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml
from helpers import copy_project, write_tenants
from planning import FIXTURE_TENANTS, PROJECT_DIR, of_type, plan_command, plan_stack
from tokens import APP_PROJECT, APPLICATION, RELEASE, SECRET

from imaas import cli
from imaas.checks.prerequisites import argocd_objects
from imaas.checks.tenants import load_tenants
from imaas.engine.mocks import PLACEHOLDER_PRIVATE_KEY
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan

PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key with which the SDK marks a secret value (pulumi.runtime.rpc._special_sig_key)."""
SECRET_TYPE = "argocd.argoproj.io/secret-type"
READ_BY = {
    # Active services with an environment on the stack; hr's payroll-export is retired, so read by neither.
    "dev": {"hr-employee-sync", "orders-order-sync", "orders-order-events", "payments-card-gateway"},
    "prod": {"hr-employee-sync", "orders-order-sync", "payments-card-gateway"},
}
TENANT_OF = {"hr-employee-sync": "hr", "orders-order-sync": "orders", "orders-order-events": "orders"}


def revealed(value: dict) -> dict:
    """A value the SDK marks secret, as the provider receives it; the Kubernetes SDK marks `stringData` whole."""
    assert set(value) == {SECRET_SIG, "value"}, "marked secret: a real engine encrypts it in the state"
    return value["value"]


def ssh_url(repository: str) -> str:
    return f"git@github.com:example-org/{repository}.git"


def credentials(plan: Plan) -> list[dict]:
    return [r.inputs for r in of_type(plan, SECRET) if SECRET_TYPE in r.inputs["metadata"].get("labels", {})]


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_one_project_scoped_repository_secret_per_repository_the_stack_reads(stack: str) -> None:
    plan = plan_stack(stack)
    secrets = credentials(plan)
    assert {s["metadata"]["name"] for s in secrets} == {f"imaas-repo-key-{r}" for r in READ_BY[stack]}
    for secret in secrets:
        repository = secret["metadata"]["name"].removeprefix("imaas-repo-key-")
        tenant = TENANT_OF.get(repository, "payments")
        assert secret["metadata"]["namespace"] == "argocd"
        assert secret["metadata"]["labels"] == {
            SECRET_TYPE: "repository",
            "imaas.io/tenant": tenant,
            "imaas.io/service": repository.removeprefix(f"{tenant}-"),
            "app.kubernetes.io/managed-by": "pulumi",
        }
        data = revealed(secret["stringData"])
        # The repository's URL alone, for its tenant's project alone.
        assert {key: data[key] for key in ("type", "url", "project")} == {
            "type": "git",
            "url": ssh_url(repository),
            "project": tenant,
        }
        assert set(data) == {"type", "url", "project", "sshPrivateKey"}


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_prefix_credential_and_nothing_without_a_project(stack: str) -> None:
    plan = plan_stack(stack)
    kinds = {s["metadata"]["labels"][SECRET_TYPE] for s in credentials(plan)}
    assert kinds == {"repository"}
    assert all(revealed(s["stringData"])["project"] for s in credentials(plan))
    installing = plan_stack(stack, preinstalled=None, argocdImpersonation=None)
    [argocd] = [r for r in of_type(installing, RELEASE) if r.inputs["chart"] == "argo-cd"]
    configs = argocd.inputs["values"].get("configs", {})
    assert not configs.get("credentialTemplates") and not configs.get("repositories")


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_key_is_generated_by_the_stack_and_registered_read_only_on_its_repository(stack: str) -> None:
    plan = plan_stack(stack)
    keys = {r.name: r for r in of_type(plan, PRIVATE_KEY)}
    deploy_keys = {r.inputs["repository"]: r for r in of_type(plan, DEPLOY_KEY)}
    assert set(keys) == {f"{repository}-argocd-key" for repository in READ_BY[stack]}
    assert set(deploy_keys) == READ_BY[stack]
    for repository, deploy_key in deploy_keys.items():
        key = keys[f"{repository}-argocd-key"]
        assert key.inputs == {"algorithm": "ED25519"}
        assert deploy_key.inputs["readOnly"] is True
        assert deploy_key.inputs["title"] == f"imaas Argo CD, stack {stack} (read-only)"
        assert key.urn in deploy_key.dependsOn
        # The engine's placeholder public key: a well-formed ssh-ed25519 key, its own per repository.
        kind, blob = deploy_key.inputs["key"].split()
        assert kind == "ssh-ed25519"
        assert base64.b64decode(blob)[:15] == b"\x00\x00\x00\x0bssh-ed25519"
    assert len({d.inputs["key"] for d in deploy_keys.values()}) == len(deploy_keys)
    # The Secret goes in once GitHub knows the key.
    for secret in [s for s in of_type(plan, SECRET) if s.name.endswith("-argocd-repository")]:
        repository = secret.name.removesuffix("-argocd-repository")
        assert deploy_keys[repository].urn in secret.dependsOn


@pytest.mark.slow
def test_only_the_stack_owning_the_repository_makes_it_the_key_waits_for_it() -> None:
    dev = plan_stack("dev")
    repositories = {r.name: r.urn for r in of_type(dev, "github:index/repository:Repository")}
    for deploy_key in of_type(dev, DEPLOY_KEY):
        assert repositories[deploy_key.inputs["repository"]] in deploy_key.dependsOn
    # prod names the repository dev made; its key is its own (another resource, another key pair).
    assert of_type(plan_stack("prod"), "github:index/repository:Repository") == []


@pytest.mark.slow
def test_applications_and_projects_read_the_ssh_urls_the_secrets_are_for() -> None:
    plan = plan_stack("dev")
    urls = {revealed(s["stringData"])["url"]: revealed(s["stringData"])["project"] for s in credentials(plan)}
    for application in of_type(plan, APPLICATION):
        spec = application.inputs["spec"]
        assert urls[spec["source"]["repoURL"]] == spec["project"]
    for project in of_type(plan, APP_PROJECT):
        name = project.inputs["metadata"]["name"]
        # On dev every active service has an Application, so the sources are exactly what the Secrets are for.
        assert sorted(project.inputs["spec"]["sourceRepos"]) == sorted(
            url for url, owner in urls.items() if owner == name
        )


@pytest.mark.slow
def test_the_prerequisite_lists_exactly_the_repositories_that_get_a_key() -> None:
    for stack in ("dev", "prod"):
        settings = read_stack_file(PROJECT_DIR, stack).settings
        objects = argocd_objects(settings, load_tenants(FIXTURE_TENANTS, settings))
        assert set(objects.repositories) == READ_BY[stack]


@pytest.mark.slow
def test_retiring_a_service_drops_its_keys_on_every_stack_and_keeps_its_repository(tmp_path: Path) -> None:
    active = write_tenants(tmp_path / "active", alpha={"services": [{"name": "one"}]})
    retired = write_tenants(tmp_path / "retired", alpha={"services": [{"name": "one", "lifecycle": "retired"}]})
    for stack in ("dev", "prod"):
        assert len(of_type(plan_stack(stack, active), PRIVATE_KEY)) == 1
        after = plan_stack(stack, retired)
        assert of_type(after, PRIVATE_KEY) == of_type(after, DEPLOY_KEY) == credentials(after) == []
    repositories = of_type(plan_stack("dev", retired), "github:index/repository:Repository")
    [repository] = [r for r in repositories if r.name == "alpha-one"]
    assert repository.inputs["archived"] is True


@pytest.mark.slow
def test_without_services_there_is_nothing_to_read(tmp_path: Path) -> None:
    tenants = write_tenants(tmp_path / "tenants", alpha={}, bravo={})
    for stack in ("dev", "prod"):
        plan = plan_stack(stack, tenants)
        assert of_type(plan, PRIVATE_KEY) == of_type(plan, DEPLOY_KEY) == credentials(plan) == []


@pytest.mark.slow
def test_the_private_key_is_only_a_secret_placeholder_in_the_plan_and_absent_from_the_manifests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    copy_project(project)
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project)
    output = plan_command("dev", tmp_path)
    plan = json.loads((tmp_path / "plan.json").read_text())
    secrets = [r for r in plan["resources"] if r["name"].endswith("-argocd-repository")]
    # The plan JSON masks every value the engine marks secret (imaas/plan/record.py): not even the placeholder shows.
    assert secrets and all(revealed(r["inputs"]["stringData"])["sshPrivateKey"] == "[secret]" for r in secrets)
    texts = [output, *(path.read_text() for path in (tmp_path / "manifests").rglob("*.yaml"))]
    assert not [text for text in texts if PLACEHOLDER_PRIVATE_KEY in text]
    # Nothing shaped like a private key anywhere: the engine never makes one. (The words alone occur: the promotion
    # gate's script, in its ConfigMap, reads PEM keys.)
    assert not re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----", (tmp_path / "plan.json").read_text())
    rendered = [
        doc
        for path in (tmp_path / "manifests").rglob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc["kind"] == "Secret" and doc["metadata"]["namespace"] == "argocd"
    ]
    assert rendered and all(doc["stringData"]["sshPrivateKey"] == "[secret]" for doc in rendered)


@pytest.mark.fast
def test_the_app_settings_of_earlier_versions_are_refused_with_what_replaced_them(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.dev.yaml").write_text(
        (PROJECT_DIR / "Pulumi.dev.yaml").read_text() + "  imaas:argocdGithubApp: {appId: 1, installationId: 2}\n"
    )
    with pytest.raises(InputError) as raised:
        read_stack_file(project, "dev")
    [problem] = raised.value.problems
    assert problem.field == "imaas:argocdGithubApp"
    assert problem.message.startswith("no longer read: Argo CD reads each service repository with a read-only")
