"""The service template pushed to the template repository: its CI workflow, its integration artifacts, its image
and the Kubernetes manifests that Argo CD renders for each environment.

The manifests are rendered by `render`, a small kustomize that knows only the features the template may use
(resources, images, labels, replicas and inline JSON6902 patches with a target) and refuses anything else; where
`kubectl` is installed, its real kustomize must render the same objects. The workflow's shell steps run for real
with bash and git, against stand-ins for docker, curl and kustomize.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest
import yaml
from linters import actionlint

PROJECT_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = PROJECT_DIR / "templates" / "service"
WORKFLOW_PATH = TEMPLATE_DIR / ".github" / "workflows" / "ci.yaml"
ARTIFACTS_DIR = TEMPLATE_DIR / "src" / "main" / "wso2mi" / "artifacts"
KUBERNETES_VERSION = "1.34"
SYNAPSE_NS = "http://ws.apache.org/ns/synapse"
METRIC_HANDLER = "org.wso2.micro.integrator.observability.metric.handler.MetricHandler"
IMAGE_NAME = "wso2mi-service"
ENVIRONMENTS = {"dev": 1, "test": 1, "prod": 2}  # environment: replicas
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
SERVICE_SETTINGS = {
    "region": "eu-west-1",
    "registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "repository": "payments/card-gateway",
    "role": "arn:aws:iam::123456789012:role/imaas-ci-payments",
}


# ---------------------------------------------------------------------------------------------------------------
# A small kustomize: exactly the features the template may use.

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "images", "labels", "replicas", "patches"}
IMAGE_KEYS = {"name", "newName", "newTag", "digest"}
LABEL_KEYS = {"pairs", "includeSelectors", "includeTemplates"}
PATCH_TARGET_KEYS = {"group", "version", "kind", "name"}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job"}
SCALABLE_KINDS = {"Deployment", "StatefulSet", "ReplicaSet"}


class UnsupportedKustomizationError(Exception):
    """The kustomization uses something the template must not use (or that this helper does not know)."""


def render(directory: Path, root: Path = TEMPLATE_DIR) -> list[dict[str, Any]]:
    """The objects `kustomize build directory` would print, for the template's subset of kustomize; every file
    it reads must be inside `root`, the service repository."""
    path = directory / "kustomization.yaml"
    if not path.is_file():
        raise UnsupportedKustomizationError(f"{directory}: no kustomization.yaml")
    kustomization = yaml.safe_load(path.read_text(encoding="utf-8"))
    unknown = set(kustomization) - KUSTOMIZATION_KEYS
    if unknown:
        raise UnsupportedKustomizationError(f"{path}: unsupported kustomize fields {sorted(unknown)}")
    if (kustomization.get("apiVersion"), kustomization.get("kind")) != (
        "kustomize.config.k8s.io/v1beta1",
        "Kustomization",
    ):
        raise UnsupportedKustomizationError(f"{path}: not a kustomize.config.k8s.io/v1beta1 Kustomization")

    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        source = (directory / entry).resolve()
        if "://" in entry or not source.is_relative_to(root.resolve()):
            raise UnsupportedKustomizationError(f"{path}: resource {entry!r} is outside the repository")
        if source.is_dir():
            objects.extend(render(source, root))
        elif source.is_file():
            objects.extend(doc for doc in yaml.safe_load_all(source.read_text(encoding="utf-8")) if doc is not None)
        else:
            raise UnsupportedKustomizationError(f"{path}: resource {entry!r} does not exist")
    identities = [_identity(obj) for obj in objects]
    duplicates = {identity for identity in identities if identities.count(identity) > 1}
    if duplicates:
        raise UnsupportedKustomizationError(f"{path}: objects declared twice: {sorted(duplicates)}")

    # kustomize's order: patches, labels, replicas, images.
    for patch in kustomization.get("patches", []):
        _apply_patch(objects, patch, path)
    for label in kustomization.get("labels", []):
        _apply_labels(objects, label, path)
    for replica in kustomization.get("replicas", []):
        _apply_replicas(objects, replica, path)
    for image in kustomization.get("images", []):
        _apply_image(objects, image, path)
    return objects


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    return (obj["apiVersion"], obj["kind"], obj["metadata"]["name"])


def _group_version(obj: dict[str, Any]) -> tuple[str, str]:
    group, _, version = obj["apiVersion"].rpartition("/")
    return group, version


def _apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any], path: Path) -> None:
    if set(patch) != {"patch", "target"}:
        raise UnsupportedKustomizationError(f"{path}: a patch needs exactly an inline `patch` and a `target`")
    target = patch["target"]
    if set(target) - PATCH_TARGET_KEYS or not {"kind", "name"} <= set(target):
        raise UnsupportedKustomizationError(
            f"{path}: a patch target is a kind and a name (and optionally group/version)"
        )
    operations = yaml.safe_load(patch["patch"])
    if not isinstance(operations, list):
        raise UnsupportedKustomizationError(f"{path}: only JSON6902 patches (a list of operations) are supported")
    matches = [
        obj
        for obj in objects
        if obj["kind"] == target["kind"]
        and obj["metadata"]["name"] == target["name"]
        and target.get("group", _group_version(obj)[0]) == _group_version(obj)[0]
        and target.get("version", _group_version(obj)[1]) == _group_version(obj)[1]
    ]
    if not matches:
        raise UnsupportedKustomizationError(f"{path}: patch target {target} matches no object")
    for obj in matches:
        patched = jsonpatch.JsonPatch(operations).apply(obj)
        obj.clear()
        obj.update(patched)


def _pod_templates(obj: dict[str, Any]) -> list[dict[str, Any]]:
    if obj["kind"] in WORKLOAD_KINDS:
        return [obj["spec"]["template"]]
    if obj["kind"] == "CronJob":
        return [obj["spec"]["jobTemplate"]["spec"]["template"]]
    return []


def _apply_labels(objects: list[dict[str, Any]], label: dict[str, Any], path: Path) -> None:
    if set(label) - LABEL_KEYS or "pairs" not in label:
        raise UnsupportedKustomizationError(
            f"{path}: a labels entry has `pairs` and optionally includeSelectors/Templates"
        )
    pairs = label["pairs"]
    for obj in objects:
        obj["metadata"].setdefault("labels", {}).update(pairs)
        templates = _pod_templates(obj)
        if label.get("includeSelectors") or label.get("includeTemplates"):
            for template in templates:
                template.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if label.get("includeSelectors"):
            if obj["kind"] == "Service":
                obj["spec"].setdefault("selector", {}).update(pairs)
            elif templates or obj["kind"] == "PodDisruptionBudget":
                obj["spec"].setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)


def _apply_replicas(objects: list[dict[str, Any]], replica: dict[str, Any], path: Path) -> None:
    if set(replica) != {"name", "count"}:
        raise UnsupportedKustomizationError(f"{path}: a replicas entry is a name and a count")
    matches = [obj for obj in objects if obj["kind"] in SCALABLE_KINDS and obj["metadata"]["name"] == replica["name"]]
    if not matches:
        raise UnsupportedKustomizationError(f"{path}: replicas name {replica['name']!r} matches no workload")
    for obj in matches:
        obj["spec"]["replicas"] = replica["count"]


def _split_image(image: str) -> tuple[str, str]:
    """`name` and the rest (`:tag`, `@digest` or empty) of an image reference."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, f"@{digest}"
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def _apply_image(objects: list[dict[str, Any]], image: dict[str, Any], path: Path) -> None:
    if set(image) - IMAGE_KEYS or "name" not in image:
        raise UnsupportedKustomizationError(f"{path}: an images entry has name, newName, newTag or digest")
    for obj in objects:
        for template in _pod_templates(obj):
            spec = template["spec"]
            for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
                name, rest = _split_image(container["image"])
                if name != image["name"]:
                    continue
                if "digest" in image:
                    rest = f"@{image['digest']}"
                elif "newTag" in image:
                    rest = f":{image['newTag']}"
                container["image"] = image.get("newName", name) + rest


def rendered(environment: str) -> list[dict[str, Any]]:
    return render(TEMPLATE_DIR / "deploy" / "overlays" / environment)


def only(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [obj for obj in objects if obj["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, got {len(matches)}"
    return matches[0]


def base_image() -> str:
    kustomization = yaml.safe_load((TEMPLATE_DIR / "deploy" / "base" / "kustomization.yaml").read_text())
    [entry] = [image for image in kustomization["images"] if image["name"] == IMAGE_NAME]
    return f"{entry['newName']}:{entry['newTag']}"


# ---------------------------------------------------------------------------------------------------------------
# The workflow: what it says.


def load_workflow() -> dict[str, Any]:
    workflow = yaml.safe_load(WORKFLOW_PATH.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as the boolean true.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(job: str) -> list[dict[str, Any]]:
    return load_workflow()["jobs"][job]["steps"]


def step_using(job: str, action: str) -> dict[str, Any]:
    [step] = [step for step in steps(job) if step.get("uses", "").startswith(f"{action}@")]
    return step


def step_running(job: str, text: str) -> dict[str, Any]:
    [step] = [step for step in steps(job) if text in step.get("run", "")]
    return step


def evaluate_condition(condition: str, context: dict[str, str]) -> bool:
    """A job's `if:` made of `a.b == 'x'` and `a.b != 'x'` comparisons joined by `&&`: the only form the workflow
    should use. A name missing from `context` is `''`, as GitHub evaluates an unset configuration variable."""
    comparisons = [part.strip() for part in condition.split("&&")]
    result = True
    for comparison in comparisons:
        match = re.fullmatch(r"([A-Za-z_.]+) (==|!=) '([^']*)'", comparison)
        assert match, f"unexpected condition {comparison!r}"
        name, operator, value = match.groups()
        result = result and (context.get(name, "") == value) is (operator == "==")
    return result


def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    uses = [step["uses"] for job in load_workflow()["jobs"].values() for step in job["steps"] if "uses" in step]
    assert {use.split("@")[0] for use in uses} == {
        "actions/checkout",
        "aws-actions/configure-aws-credentials",
        "aws-actions/amazon-ecr-login",
    }
    for use in uses:
        assert SHA_PIN.match(use), f"{use} is not pinned to a 40-character commit SHA"
    for line in WORKFLOW_PATH.read_text().splitlines():
        if re.match(r"\s*(- )?uses:", line):
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"no version comment: {line.strip()}"


def test_permissions_are_empty_by_default_and_only_release_writes() -> None:
    workflow = load_workflow()
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert all(isinstance(job.get("permissions"), dict) for job in jobs.values()), "every job states its permissions"
    writers = {name for name, job in jobs.items() if job["permissions"].get("contents") == "write"}
    assert writers == {"release"}
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["release"]["permissions"] == {"contents": "write", "id-token": "write"}


def test_build_runs_on_pull_requests_and_pushes_to_dev_and_release_only_on_pushes_to_dev() -> None:
    workflow = load_workflow()
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["on"]["push"] == {"branches": ["dev", "test", "prod"]}
    build = workflow["jobs"]["build"]
    for ref, expected in (("refs/pull/7/merge", True), ("refs/heads/dev", True), ("refs/heads/test", False)):
        assert evaluate_condition(build["if"], {"github.ref": ref}) is expected, ref
    release = workflow["jobs"]["release"]
    assert release["needs"] == "build"
    service = {"vars.IMAAS_SERVICE": '{"region": "eu-west-1"}'}
    cases = {
        ("push", "refs/heads/dev"): True,
        ("push", "refs/heads/test"): False,
        ("push", "refs/heads/prod"): False,
        ("pull_request", "refs/heads/dev"): False,
        ("pull_request", "refs/pull/7/merge"): False,
    }
    for (event, ref), expected in cases.items():
        context = {"github.event_name": event, "github.ref": ref, **service}
        assert evaluate_condition(release["if"], context) is expected, (event, ref)


def test_a_promotion_tags_the_image_it_promotes_for_its_environment() -> None:
    """A merge into test or prod builds nothing; it tags the image deploy/base names `<env>-<commit>`, which the
    registry's retention keeps (imaas.spec.delivery.lifecycle_policy)."""
    mark = load_workflow()["jobs"]["mark"]
    service = {"vars.IMAAS_SERVICE": '{"role": "arn"}'}
    cases = {
        ("push", "refs/heads/test"): True,
        ("push", "refs/heads/prod"): True,
        ("push", "refs/heads/dev"): False,
        ("pull_request", "refs/pull/7/merge"): False,
    }
    for (event, ref), expected in cases.items():
        assert evaluate_condition(mark["if"], {"github.event_name": event, "github.ref": ref, **service}) is expected
    assert evaluate_condition(mark["if"], {"github.event_name": "push", "github.ref": "refs/heads/prod"}) is False
    assert mark["permissions"] == {"contents": "read", "id-token": "write"}
    tagging = step_running("mark", "aws ecr put-image")
    assert tagging["env"]["ENVIRONMENT"] == "${{ github.ref_name }}"
    assert 'marked="${ENVIRONMENT}-${tag}"' in tagging["run"]


def test_release_is_skipped_where_the_platform_set_no_service_variable() -> None:
    """The template repository itself: every version the platform publishes there is a push to dev, with no
    IMAAS_SERVICE (GitHub evaluates an unset variable as ''), so its release must be skipped rather than fail."""
    release = load_workflow()["jobs"]["release"]
    push_to_dev = {"github.event_name": "push", "github.ref": "refs/heads/dev"}
    assert evaluate_condition(release["if"], push_to_dev) is False
    assert evaluate_condition(release["if"], {**push_to_dev, "vars.IMAAS_SERVICE": ""}) is False
    assert evaluate_condition(release["if"], {**push_to_dev, "vars.IMAAS_SERVICE": '{"role": "arn"}'}) is True
    assert release["concurrency"] == {"group": "release-${{ github.ref }}", "cancel-in-progress": False}


def test_checkouts_keep_no_credentials_and_scripts_interpolate_nothing() -> None:
    for job in ("build", "release"):
        assert step_using(job, "actions/checkout")["with"] == {"persist-credentials": False}
        for step in steps(job):
            # Untrusted values (branch names, commit messages) and variables reach scripts through env only.
            assert "${{" not in step.get("run", ""), f"{job}: {step.get('name')} interpolates into its script"


def test_release_signs_in_with_the_platform_variable_and_pushes_an_immutable_tag() -> None:
    credentials = step_using("release", "aws-actions/configure-aws-credentials")["with"]
    assert credentials["role-to-assume"] == "${{ fromJSON(vars.IMAAS_SERVICE).role }}"
    assert credentials["aws-region"] == "${{ fromJSON(vars.IMAAS_SERVICE).region }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(credentials), "no stored keys"
    step_using("release", "aws-actions/amazon-ecr-login")
    push = step_running("release", "docker push")
    assert push["env"] == {
        "REGISTRY": "${{ fromJSON(vars.IMAAS_SERVICE).registry }}",
        "REPOSITORY": "${{ fromJSON(vars.IMAAS_SERVICE).repository }}",
    }
    assert 'image="${REGISTRY}/${REPOSITORY}:${GITHUB_SHA}"' in push["run"]
    roles = {
        "aws-actions/configure-aws-credentials@": "sign in",
        "aws-actions/amazon-ecr-login@": "log in",
        "docker push": "push",
        "kustomize edit set image": "point deploy/base at it",
    }
    order = [
        role
        for step in steps("release")
        for text, role in roles.items()
        if text in step.get("uses", step.get("run", ""))
    ]
    assert order == ["sign in", "log in", "push", "point deploy/base at it"]
    manifests = step_running("release", "kustomize edit set image")
    assert manifests["env"]["GITHUB_TOKEN"] == "${{ github.token }}", "the job's own token, through the environment"


def test_build_checks_the_xml_builds_and_calls_the_running_service() -> None:
    scripts = "\n".join(step.get("run", "") for step in steps("build"))
    assert "xmllint --noout" in scripts
    assert "docker build" in scripts
    assert "curl -fsS http://localhost:8290/health" in scripts
    assert "docker logs" in scripts


# ---------------------------------------------------------------------------------------------------------------
# The workflow: actionlint.


def test_the_workflow_passes_actionlint() -> None:
    result = actionlint(WORKFLOW_PATH)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_fails_on_an_untrusted_value_in_a_script(tmp_path: Path) -> None:
    text = WORKFLOW_PATH.read_text()
    unsafe_step = textwrap.indent(
        '- name: Echo the commit message\n  run: echo "${{ github.event.head_commit.message }}"\n\n', " " * 6
    )
    broken = tmp_path / "ci.yaml"
    broken.write_text(text.replace("  release:\n", unsafe_step + "  release:\n", 1))
    result = actionlint(broken)
    assert result.returncode == 1, result.stdout + result.stderr
    [finding] = result.stdout.splitlines()
    assert re.fullmatch(
        rf'{re.escape(str(broken))}:\d+:\d+: "github\.event\.head_commit\.message" is potentially untrusted\..* '
        r"\[expression\]",
        finding,
    )


def test_actionlint_tool_reports_usage_errors() -> None:
    assert actionlint().returncode == 2
    assert actionlint(TEMPLATE_DIR / "no-such-workflow.yaml").returncode == 2


# ---------------------------------------------------------------------------------------------------------------
# The workflow's scripts, run for real with stand-ins for docker, curl and kustomize.


def write_tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_step(script: str, cwd: Path, tools: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a step's script as GitHub's runner does (`bash -e`), with `tools` first on the PATH."""
    script_path = cwd / ".step.sh"
    script_path.write_text(script)
    environment = {
        "PATH": f"{tools}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(cwd),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GITHUB_STEP_SUMMARY": str(cwd / ".summary"),
        **env,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", str(script_path)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def container_tools(tmp_path: Path) -> Path:
    """`docker` and `curl` stand-ins: the container's state and answers come from files in `tmp_path`."""
    tools = tmp_path / "bin"
    tools.mkdir()
    write_tool(
        tools,
        "docker",
        f"""\
        import pathlib, sys
        state = pathlib.Path({str(tmp_path)!r})
        with open(state / "docker.log", "a") as log:
            log.write(" ".join(sys.argv[1:]) + "\\n")
        command = sys.argv[1]
        if command == "inspect":
            print((state / "running").read_text().strip())
        elif command == "logs":
            print("MI-LOG: server started")
        elif command == "run":
            print("0123456789ab")
        """,
    )
    write_tool(
        tools,
        "curl",
        f"""\
        import pathlib, sys
        state = pathlib.Path({str(tmp_path)!r})
        url = sys.argv[-1]
        answer = state / ("health" if url.endswith("/health") else "metrics")
        if not answer.exists():
            sys.exit(7)
        print(answer.read_text(), end="")
        """,
    )
    return tools


def run_health_step(tmp_path: Path, tools: Path, *, running: bool, health: str | None, metrics: bool):
    (tmp_path / "running").write_text("true" if running else "false")
    if health is not None:
        (tmp_path / "health").write_text(health)
    if metrics:
        (tmp_path / "metrics").write_text("# TYPE wso2_integration_api_request_count_total counter\n")
    script = step_running("build", "curl -fsS http://localhost:8290/health")["run"]
    return run_step(script, tmp_path, tools, {"IMAGE": "wso2mi-service:ci"})


def test_the_health_check_passes_when_the_service_answers_up(tmp_path: Path, container_tools: Path) -> None:
    result = run_health_step(tmp_path, container_tools, running=True, health='{"status":"UP"}', metrics=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MI-LOG" not in result.stdout
    docker_calls = (tmp_path / "docker.log").read_text().splitlines()
    assert docker_calls[0].startswith("run --detach --name service --publish 8290:8290")
    assert docker_calls[-1] == "rm --force service", "the container is removed"


@pytest.mark.parametrize(
    ("running", "health", "metrics", "error"),
    [
        (False, None, True, "the container stopped"),
        (True, '{"status":"DOWN"}', True, '/health did not report {"status":"UP"}'),
        (True, '{"status":"UP"}', False, "the Prometheus metrics endpoint"),
    ],
)
def test_the_health_check_fails_with_the_container_logs(
    tmp_path: Path, container_tools: Path, running: bool, health: str | None, metrics: bool, error: str
) -> None:
    result = run_health_step(tmp_path, container_tools, running=running, health=health, metrics=metrics)
    assert result.returncode == 1
    assert f"::error::{error}" in result.stdout
    assert "MI-LOG: server started" in result.stdout, "the container logs are shown"


@pytest.mark.parametrize(
    ("settings", "ok"),
    [
        (SERVICE_SETTINGS, True),
        ({key: value for key, value in SERVICE_SETTINGS.items() if key != "role"}, False),
        (None, False),
    ],
)
def test_release_refuses_to_start_without_the_platform_variable(
    tmp_path: Path, settings: dict[str, str] | None, ok: bool
) -> None:
    script = step_running("release", "IMAAS_SERVICE")["run"]
    value = "" if settings is None else json.dumps(settings)
    result = run_step(script, tmp_path, tmp_path, {"IMAAS_SERVICE": value})
    assert (result.returncode == 0) is ok
    if not ok:
        assert "::error::the repository variable IMAAS_SERVICE is missing or incomplete" in result.stdout


def git(cwd: Path, *args: str) -> str:
    environment = {**os.environ, "HOME": str(cwd), "GIT_CONFIG_NOSYSTEM": "1"}
    command = ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.com", "-c", "init.defaultBranch=dev"]
    return subprocess.run(
        [*command, *args], cwd=cwd, env=environment, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_release_commits_the_new_image_on_top_of_dev(tmp_path: Path) -> None:
    """The manifest step against a local bare repository standing in for GitHub, after a developer pushed again."""
    remote, developer, runner = tmp_path / "remote.git", tmp_path / "developer", tmp_path / "runner"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    shutil.copytree(TEMPLATE_DIR, developer)
    git(developer, "init", "--quiet")
    git(developer, "add", "--all")
    git(developer, "commit", "--quiet", "--message", "Service from the template")
    git(developer, "push", "--quiet", str(remote), "HEAD:dev")
    built = git(developer, "rev-parse", "HEAD")
    git(tmp_path, "clone", "--quiet", "--depth=1", "--branch=dev", remote.as_uri(), str(runner))
    (developer / "NOTES.md").write_text("pushed while CI was building\n")
    git(developer, "add", "NOTES.md")
    git(developer, "commit", "--quiet", "--message", "A later change")
    git(developer, "push", "--quiet", str(remote), "HEAD:dev")
    later = git(developer, "rev-parse", "HEAD")

    tools = tmp_path / "bin"
    tools.mkdir()
    # Stands in for `kustomize edit set image NAME=NEWNAME:TAG`, run in deploy/base.
    write_tool(
        tools,
        "kustomize",
        """\
        import sys, yaml
        assert sys.argv[1:4] == ["edit", "set", "image"], sys.argv
        name, reference = sys.argv[4].split("=", 1)
        new_name, new_tag = reference.rsplit(":", 1)
        with open("kustomization.yaml") as file:
            kustomization = yaml.safe_load(file)
        [entry] = [image for image in kustomization["images"] if image["name"] == name]
        entry.update(newName=new_name, newTag=new_tag)
        with open("kustomization.yaml", "w") as file:
            yaml.safe_dump(kustomization, file, sort_keys=False)
        """,
    )
    token, repository = "ghs_example", "example-org/payments-card-gateway"
    env = {
        "REGISTRY": SERVICE_SETTINGS["registry"],
        "REPOSITORY": SERVICE_SETTINGS["repository"],
        "GITHUB_TOKEN": token,
        "GITHUB_REPOSITORY": repository,
        "GITHUB_SHA": built,
        # GitHub's address, as the step writes it, leads to the local repository.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{remote.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": f"https://x-access-token:{token}@github.com/{repository}.git",
    }
    script = step_running("release", "kustomize edit set image")["run"]
    result = run_step(script, runner, tools, env)
    assert result.returncode == 0, result.stdout + result.stderr

    check = tmp_path / "check"
    git(tmp_path, "clone", "--quiet", "--branch=dev", str(remote), str(check))
    author, subject, parent = git(check, "log", "-1", "--format=%an%n%s%n%P").splitlines()
    assert author == "github-actions[bot]"
    assert subject.startswith("Deploy ") and subject.endswith(" to dev")
    assert parent == later, "the commit goes on top of dev as it is now, keeping the later change"
    assert git(check, "diff", "--name-only", "HEAD~1", "HEAD") == "deploy/base/kustomization.yaml"
    image = f"{SERVICE_SETTINGS['registry']}/{SERVICE_SETTINGS['repository']}:{built}"
    for environment in ENVIRONMENTS:
        deployment = only(render(check / "deploy" / "overlays" / environment, root=check), "Deployment")
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image

    again = run_step(script, runner, tools, env)
    assert again.returncode == 0
    assert "already uses" in again.stdout
    assert git(check, "ls-remote", str(remote), "dev").split()[0] == git(check, "rev-parse", "HEAD")


# ---------------------------------------------------------------------------------------------------------------
# Integration artifacts and the image.


def artifact_files() -> list[Path]:
    return sorted(ARTIFACTS_DIR.rglob("*.xml"))


def test_artifacts_are_well_formed_synapse_apis() -> None:
    files = artifact_files()
    assert {path.name for path in files} >= {"HealthApi.xml", "HelloApi.xml"}
    for path in files:
        root = ET.parse(path).getroot()
        assert root.tag == f"{{{SYNAPSE_NS}}}api", f"{path.name}: not a Synapse API"
        assert root.get("name") == path.stem
        assert root.get("context", "").startswith("/")
        for element in root.iter():
            if isinstance(element.tag, str):
                assert element.tag.startswith(f"{{{SYNAPSE_NS}}}"), f"{path.name}: {element.tag} outside Synapse"
    contexts = [ET.parse(path).getroot().get("context") for path in files]
    assert len(contexts) == len(set(contexts)), "each API has its own context"


def test_health_api_answers_status_up_at_health() -> None:
    root = ET.parse(ARTIFACTS_DIR / "apis" / "HealthApi.xml").getroot()
    assert root.get("context") == "/health"
    [resource] = root.findall(f"{{{SYNAPSE_NS}}}resource")
    assert resource.get("methods") == "GET"
    assert resource.get("uri-template") == "/"
    sequence = resource.find(f"{{{SYNAPSE_NS}}}inSequence")
    factory = sequence.find(f"{{{SYNAPSE_NS}}}payloadFactory")
    assert factory.get("media-type") == "json"
    assert json.loads(factory.find(f"{{{SYNAPSE_NS}}}format").text) == {"status": "UP"}
    status = [
        prop
        for prop in sequence.findall(f"{{{SYNAPSE_NS}}}property")
        if prop.get("name") == "HTTP_SC" and prop.get("scope") == "axis2"
    ]
    assert [prop.get("value") for prop in status] == ["200"]
    assert sequence[-1].tag == f"{{{SYNAPSE_NS}}}respond"


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (TEMPLATE_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_builds_on_the_official_image_and_runs_as_its_non_root_user() -> None:
    instructions = dockerfile_instructions()
    froms = [argument for instruction, argument in instructions if instruction == "FROM"]
    assert len(froms) == 1
    assert re.fullmatch(r"wso2/wso2mi:\d+\.\d+\.\d+(@sha256:[0-9a-f]{64})?", froms[0])
    users = [argument for instruction, argument in instructions if instruction == "USER"]
    assert users, "the Dockerfile sets a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert users[-1] == "802", "the image's own wso2carbon user"


def test_dockerfile_copies_the_apis_and_appends_the_metric_handler() -> None:
    instructions = dockerfile_instructions()
    copies = [argument for instruction, argument in instructions if instruction == "COPY"]
    target = "${WSO2_SERVER_HOME}/repository/deployment/server/synapse-configs/default/api/"
    assert f"--chown=802:802 src/main/wso2mi/artifacts/apis/ {target}" in copies
    assert not any("deployment.toml" in copy for copy in copies), "never ship a whole deployment.toml"
    [run] = [argument for instruction, argument in instructions if instruction == "RUN"]
    assert '>> "$toml"' in run and 'toml="${WSO2_SERVER_HOME}/conf/deployment.toml"' in run
    for line in [
        "'[[synapse_handlers]]'",
        "'name=\"CustomObservabilityHandler\"'",
        "'class=\"org.wso2.micro.integrator.observability.metric.handler.MetricHandler\"'",
    ]:
        assert line in run
    assert ("ENV", 'JAVA_OPTS="-DenablePrometheusApi=true"') in instructions


def test_the_metric_handler_is_appended_once_to_the_images_configuration(tmp_path: Path) -> None:
    """The Dockerfile's RUN, run by sh on a stand-in for the image's deployment.toml, twice."""
    [run] = [argument for instruction, argument in dockerfile_instructions() if instruction == "RUN"]
    conf = tmp_path / "conf"
    conf.mkdir()
    # Ends without a newline, and mentions the handler only in a comment.
    original = '[server]\nhostname = "localhost"\n# class="' + METRIC_HANDLER + '"'
    (conf / "deployment.toml").write_text(original)
    for _ in range(2):
        subprocess.run(
            ["sh", "-c", run], env={"WSO2_SERVER_HOME": str(tmp_path), "PATH": os.environ["PATH"]}, check=True
        )
    text = (conf / "deployment.toml").read_text()
    assert text.startswith(original + "\n")
    assert text.count("[[synapse_handlers]]") == 1
    handler = text[len(original) :].strip()
    assert handler == (
        '[[synapse_handlers]]\nname="CustomObservabilityHandler"\n'
        'class="org.wso2.micro.integrator.observability.metric.handler.MetricHandler"'
    )


def test_dockerignore_keeps_repository_metadata_out_of_the_build_context() -> None:
    lines = (TEMPLATE_DIR / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert {".git", ".github", "deploy"} <= set(ignored)
    assert not any(pattern in {"src", "src/", "Dockerfile", "*"} for pattern in ignored)


# ---------------------------------------------------------------------------------------------------------------
# Deploy manifests, rendered per environment.


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_rendered_object_is_valid_kubernetes(environment: str) -> None:
    objects = rendered(environment)
    assert {obj["kind"] for obj in objects} >= {"Deployment", "Service"}
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        assert obj["metadata"]["labels"]["app.kubernetes.io/name"] == IMAGE_NAME


@pytest.mark.parametrize(("environment", "replicas"), ENVIRONMENTS.items())
def test_replicas_environment_and_image_per_environment(environment: str, replicas: int) -> None:
    deployment = only(rendered(environment), "Deployment")
    assert deployment["spec"]["replicas"] == replicas
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == base_image(), "every environment runs the image named in deploy/base"
    env = {variable["name"]: variable["value"] for variable in container["env"]}
    assert env["ENVIRONMENT"] == environment
    assert "-DenablePrometheusApi=true" in env["JAVA_OPTS"].split()


def test_the_image_reference_lives_only_in_the_base() -> None:
    for environment in ENVIRONMENTS:
        overlay = yaml.safe_load(
            (TEMPLATE_DIR / "deploy" / "overlays" / environment / "kustomization.yaml").read_text()
        )
        assert overlay["resources"][0] == "../../base"
        assert "images" not in overlay, "promotion by merge carries the image: overlays must not pin their own"
    base = yaml.safe_load((TEMPLATE_DIR / "deploy" / "base" / "kustomization.yaml").read_text())
    assert [image["name"] for image in base["images"]] == [IMAGE_NAME]
    deployment = yaml.safe_load((TEMPLATE_DIR / "deploy" / "base" / "deployment.yaml").read_text())
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == IMAGE_NAME


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_pods_pass_pod_security_restricted(environment: str) -> None:
    pod = only(rendered(environment), "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    for volume in pod.get("volumes", []):
        assert set(volume) - {"name"} <= {"emptyDir", "configMap", "secret", "projected", "persistentVolumeClaim"}
    for container in pod["containers"]:
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert security["runAsNonRoot"] is True
        assert security["runAsUser"] == 802
        assert security["seccompProfile"] == {"type": "RuntimeDefault"}
        assert not security.get("privileged")
        assert security["readOnlyRootFilesystem"] is False
        assert {mount["mountPath"] for mount in container["volumeMounts"]} >= {"/tmp"}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_resources_probes_and_metrics(environment: str) -> None:
    objects = rendered(environment)
    template = only(objects, "Deployment")["spec"]["template"]
    [container] = template["spec"]["containers"]
    for kind in ("requests", "limits"):
        assert set(container["resources"][kind]) == {"cpu", "memory"}, f"{kind} of cpu and memory"
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 9201}
    assert container["livenessProbe"]["tcpSocket"] == {"port": 8290}
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["initialDelaySeconds"] >= 10, "MI needs about 20 s to start"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8290, "https": 8253, "metrics": 9201}
    assert template["metadata"]["labels"]["imaas.io/metrics"] == "true"
    service = only(objects, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert {port["name"]: port["port"] for port in service["spec"]["ports"]} == {"http": 8290, "metrics": 9201}
    assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()


def test_prod_rolls_out_within_its_replicas_and_keeps_one_pod_through_disruptions() -> None:
    objects = rendered("prod")
    deployment = only(objects, "Deployment")
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": 1}
    budget = only(objects, "PodDisruptionBudget")
    assert budget["spec"]["minAvailable"] == 1
    assert (
        budget["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )


def test_the_helper_matches_real_kustomize() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the helper is compared with real kustomize where it is")
    for environment in ENVIRONMENTS:
        overlay = TEMPLATE_DIR / "deploy" / "overlays" / environment
        output = subprocess.run(
            [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        expected = sorted((doc for doc in yaml.safe_load_all(output) if doc), key=_identity)
        assert sorted(rendered(environment), key=_identity) == expected, environment


@pytest.mark.parametrize(
    ("kustomization", "error"),
    [
        ({"namePrefix": "x-"}, "unsupported kustomize fields"),
        ({"patches": [{"path": "patch.yaml", "target": {"kind": "Deployment", "name": IMAGE_NAME}}]}, "inline"),
        ({"patches": [{"patch": "spec:\n  replicas: 3\n", "target": {"kind": "Deployment", "name": IMAGE_NAME}}]},
         "JSON6902"),
        ({"patches": [{"patch": "- op: remove\n  path: /spec/replicas\n"}]}, "inline `patch` and a `target`"),
        ({"patches": [{"patch": "[]", "target": {"kind": "Deployment", "name": "other"}}]}, "matches no object"),
        ({"replicas": [{"name": "other", "count": 2}]}, "matches no workload"),
        ({"images": [{"name": IMAGE_NAME, "newTag": "1", "tagSuffix": "x"}]}, "images entry"),
        ({"labels": [{"pairs": {"a": "b"}, "fields": []}]}, "labels entry"),
        ({"resources": ["../../base", "https://example.com/x.yaml"]}, "outside the repository"),
        ({"resources": ["../../base", "../../../../README.md"]}, "outside the repository"),
    ],
)  # fmt: skip
def test_the_helper_refuses_what_the_template_must_not_use(
    tmp_path: Path, kustomization: dict[str, Any], error: str
) -> None:
    copy_dir = tmp_path / "service"
    shutil.copytree(TEMPLATE_DIR / "deploy", copy_dir / "deploy")
    overlay = copy_dir / "deploy" / "overlays" / "dev"
    content = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["../../base"]}
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({**content, **copy.deepcopy(kustomization)}))
    with pytest.raises(UnsupportedKustomizationError, match=re.escape(error)):
        render(overlay, root=copy_dir)
