"""Argo CD's credential for the private and internal service repositories: a repo-creds Secret for the
organisation's URL prefix, signing in as a GitHub App whose private key is a secret setting, never in a plan."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from helpers import copy_project, write_tenants
from planning import FIXTURE_TENANTS, PROJECT_DIR, of_type, plan_command, plan_stack
from tokens import RELEASE

from imaas import cli
from imaas.inputs.problems import InputError
from imaas.inputs.stack_file import read_stack_file
from imaas.plan.record import Plan, PlannedResource

SECRET = "kubernetes:core/v1:Secret"
KEY_SETTING = "imaas:argocdGithubAppPrivateKey"
APP = {"appId": 123456, "installationId": 7890123}
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEkey-material-that-must-never-leak\n-----END RSA PRIVATE KEY-----\n"
CIPHERTEXT = "v1:AAAAc2VjcmV0LWNpcGhlcnRleHQtb2YtdGhlLWFwcC1rZXk="
SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key with which the SDK marks a secret value (pulumi.runtime.rpc._special_sig_key)."""


def secrets(plan: Plan) -> list[PlannedResource]:
    """The plan's Secrets but the observability stores' credentials (imaas/spec/store_auth.py), which every stack
    with observability declares."""
    return [r for r in of_type(plan, SECRET) if r.inputs["metadata"].get("namespace") != "observability"]


def revealed(value: dict) -> dict:
    """A value the SDK marks secret, as the provider receives it; the Kubernetes SDK marks `stringData` whole."""
    assert set(value) == {SECRET_SIG, "value"}, "marked secret: a real engine encrypts it in the state"
    return value["value"]


def credentials(stack: str, **settings: object) -> list[dict]:
    return [resource.inputs for resource in secrets(plan_stack(stack, **settings))]


WITHOUT_APP: dict[str, object] = {"argocdGithubApp": None, "argocdGithubAppPrivateKey": None}
"""Settings that drop the shipped stack files' App and placeholder key."""


def without_app(stack_file: str) -> str:
    """A stack file's text without its App and key settings (the key's `secure:` line included)."""
    lines = stack_file.splitlines(keepends=True)
    kept = [
        line
        for index, line in enumerate(lines)
        if not line.startswith("  imaas:argocdGithubApp")
        and not (line.startswith("    secure:") and lines[index - 1].startswith(f"  {KEY_SETTING}:"))
    ]
    return "".join(kept)


def with_app(project: Path, stack: str) -> None:
    """`Pulumi.<stack>.yaml` of `project` with the App set and its key stored as `pulumi config set --secret` does."""
    path = project / f"Pulumi.{stack}.yaml"
    path.write_text(
        without_app(path.read_text())
        + f"  imaas:argocdGithubApp: {{appId: {APP['appId']}, installationId: {APP['installationId']}}}\n"
        + f"  {KEY_SETTING}:\n    secure: {CIPHERTEXT}\n"
    )


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_stack_with_the_app_declares_one_repo_creds_secret_for_the_organisation(stack: str) -> None:
    [secret] = credentials(stack, argocdGithubApp=APP, argocdGithubAppPrivateKey="[secret]")
    assert secret["metadata"] == {
        "name": "imaas-github-repositories",
        "namespace": "argocd",
        "labels": {"argocd.argoproj.io/secret-type": "repo-creds", "app.kubernetes.io/managed-by": "pulumi"},
    }
    data = revealed(secret["stringData"])
    # A prefix of every service repository's URL, ending in "/" so that no other owner's repositories match.
    assert data["url"] == "https://github.com/example-org/"
    assert data["type"] == "git"
    assert (data["githubAppID"], data["githubAppInstallationID"]) == ("123456", "7890123")
    assert set(data) == {"type", "url", "githubAppID", "githubAppInstallationID", "githubAppPrivateKey"}


@pytest.mark.slow
def test_the_url_prefix_covers_every_service_repository_argo_cd_reads() -> None:
    plan = plan_stack("dev", argocdGithubApp=APP, argocdGithubAppPrivateKey="[secret]")
    [secret] = secrets(plan)
    sources = [
        a.inputs["spec"]["source"]["repoURL"] for a in of_type(plan, "kubernetes:argoproj.io/v1alpha1:Application")
    ]
    assert sources
    assert all(source.startswith(revealed(secret.inputs["stringData"])["url"]) for source in sources)


@pytest.mark.fast
def test_the_shipped_stacks_have_the_app_with_a_placeholder_key_stored_as_a_secret() -> None:
    for stack in ("dev", "prod"):
        stack_file = read_stack_file(PROJECT_DIR, stack)
        assert KEY_SETTING in stack_file.secret_keys
        assert stack_file.settings.argocd_github_app is not None


@pytest.mark.slow
def test_without_the_app_nothing_is_declared(tmp_path: Path) -> None:
    # Tenants without services: no repository for Argo CD to read, so none is needed (tests/test_prerequisites.py).
    tenants = write_tenants(tmp_path / "tenants", alpha={}, bravo={})
    for stack in ("dev", "prod"):
        assert [r for r in secrets(plan_stack(stack, tenants, **WITHOUT_APP))] == []


@pytest.mark.slow
def test_the_private_key_is_a_secret_input_and_the_argocd_release_comes_first() -> None:
    config = {"argocdGithubApp": APP, "argocdGithubAppPrivateKey": PRIVATE_KEY}
    plan = plan_stack(
        "dev", FIXTURE_TENANTS, observability={"argocd": {"install": True}}, argocdPreinstalled=None, **config
    )
    [secret] = secrets(plan)
    assert revealed(secret.inputs["stringData"])["githubAppPrivateKey"] == PRIVATE_KEY
    release = next(r for r in of_type(plan, RELEASE) if r.inputs["chart"] == "argo-cd")
    assert release.urn in secret.dependsOn


@pytest.mark.slow
def test_the_key_material_never_reaches_the_plan_the_manifests_or_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    copy_project(project)
    with_app(project, "dev")
    monkeypatch.setattr(cli.output, "PROJECT_DIR", project)
    output = plan_command("dev", tmp_path)
    plan_json, manifests = tmp_path / "plan.json", tmp_path / "manifests"
    texts = [output, plan_json.read_text(), *(path.read_text() for path in manifests.rglob("*.yaml"))]
    assert "imaas-github-repositories" in plan_json.read_text()
    assert not [text for text in texts if CIPHERTEXT in text or "key-material" in text]
    [rendered] = [
        doc
        for path in manifests.rglob("*.yaml")
        for doc in yaml.safe_load_all(path.read_text())
        if doc["kind"] == "Secret" and doc["metadata"]["namespace"] != "observability"
    ]
    assert "BEGIN" not in str(rendered)


@pytest.mark.slow
def test_the_app_and_its_key_come_together() -> None:
    for settings in ({"argocdGithubApp": None}, {"argocdGithubAppPrivateKey": None}):
        with pytest.raises(InputError, match="argocdGithubApp and argocdGithubAppPrivateKey are set together"):
            plan_stack("dev", **settings)


@pytest.mark.fast
def test_a_private_key_stored_in_plain_text_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    stack_file = without_app((PROJECT_DIR / "Pulumi.dev.yaml").read_text())
    (project / "Pulumi.dev.yaml").write_text(
        stack_file + f"  imaas:argocdGithubApp: {{appId: 1, installationId: 2}}\n  {KEY_SETTING}: {PRIVATE_KEY!r}\n"
    )
    with pytest.raises(InputError) as raised:
        read_stack_file(project, "dev")
    [problem] = raised.value.problems
    assert problem.field == KEY_SETTING
    assert problem.message == "must be a secret: pulumi config set --secret argocdGithubAppPrivateKey"
    assert "key-material" not in str(raised.value)
