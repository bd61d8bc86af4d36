"""The service template's CI workflow: what it says, actionlint on it, and its shell steps run for real with bash
and git, against stand-ins for mvn, docker, curl and `kustomize edit` (the manifests a release commits are then
rendered by the real kustomize). The MI project and the manifests have tests of their own
(test_service_template_project.py, test_service_template_manifests.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import TEMPLATE_DIR, WAIT_SECONDS
from kustomize import build, only
from linters import actionlint

WORKFLOW_PATH = TEMPLATE_DIR / ".github" / "workflows" / "ci.yaml"
ENVIRONMENTS = ("dev", "test", "prod")
DOCKER_BUILD = 'docker build --file deployment/docker/Dockerfile --tag "$IMAGE" .'
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
SERVICE_SETTINGS = {
    "region": "eu-west-1",
    "registry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "repository": "payments/card-gateway",
    "role": "arn:aws:iam::123456789012:role/imaas-ci-payments",
}


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


@pytest.mark.fast
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version() -> None:
    uses = [step["uses"] for job in load_workflow()["jobs"].values() for step in job["steps"] if "uses" in step]
    assert {use.split("@")[0] for use in uses} == {
        "actions/checkout",
        "actions/setup-java",
        "aws-actions/configure-aws-credentials",
        "aws-actions/amazon-ecr-login",
    }
    for use in uses:
        assert SHA_PIN.match(use), f"{use} is not pinned to a 40-character commit SHA"
    for line in WORKFLOW_PATH.read_text().splitlines():
        if re.match(r"\s*(- )?uses:", line):
            assert re.search(r"@[0-9a-f]{40} # v\d+\.\d+\.\d+$", line), f"no version comment: {line.strip()}"


@pytest.mark.fast
def test_permissions_are_empty_by_default_and_only_release_writes() -> None:
    workflow = load_workflow()
    assert workflow["permissions"] == {}
    jobs = workflow["jobs"]
    assert all(isinstance(job.get("permissions"), dict) for job in jobs.values()), "every job states its permissions"
    writers = {name for name, job in jobs.items() if job["permissions"].get("contents") == "write"}
    assert writers == {"release"}
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["release"]["permissions"] == {"contents": "write", "id-token": "write"}


@pytest.mark.fast
def test_build_runs_on_pull_requests_and_pushes_to_dev_and_release_only_on_pushes_to_dev() -> None:
    workflow = load_workflow()
    assert set(workflow["on"]) == {"pull_request", "push", "workflow_dispatch"}
    assert workflow["on"]["push"] == {"branches": ["dev", "test", "prod"]}
    build = workflow["jobs"]["build"]
    for ref, expected in (("refs/pull/7/merge", True), ("refs/heads/dev", True), ("refs/heads/test", False)):
        assert evaluate_condition(build["if"], {"github.ref": ref}) is expected, ref
    release = workflow["jobs"]["release"]
    assert release["needs"] == "build"
    service = {"vars.IMAAS_SERVICE": '{"region": "eu-west-1"}'}
    cases = {
        ("push", "refs/heads/dev"): True,
        # The first release started by hand, once the platform has set IMAAS_SERVICE.
        ("workflow_dispatch", "refs/heads/dev"): True,
        ("workflow_dispatch", "refs/heads/test"): False,
        ("push", "refs/heads/test"): False,
        ("push", "refs/heads/prod"): False,
        ("pull_request", "refs/heads/dev"): False,
        ("pull_request", "refs/pull/7/merge"): False,
    }
    for (event, ref), expected in cases.items():
        context = {"github.event_name": event, "github.ref": ref, **service}
        assert evaluate_condition(release["if"], context) is expected, (event, ref)


@pytest.mark.fast
def test_a_promotion_tags_the_image_it_promotes_for_its_environment() -> None:
    """A merge into test or prod builds nothing; it tags the image deploy/base names `<env>-<commit>`, which the
    registry's retention keeps (imaas.declarations.delivery.lifecycle_policy)."""
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


@pytest.mark.fast
def test_release_is_skipped_where_the_platform_set_no_service_variable() -> None:
    """The template repository itself: every version the platform publishes there is a push to dev, with no
    IMAAS_SERVICE (GitHub evaluates an unset variable as ''), so its release must be skipped rather than fail."""
    release = load_workflow()["jobs"]["release"]
    push_to_dev = {"github.event_name": "push", "github.ref": "refs/heads/dev"}
    assert evaluate_condition(release["if"], push_to_dev) is False
    assert evaluate_condition(release["if"], {**push_to_dev, "vars.IMAAS_SERVICE": ""}) is False
    assert evaluate_condition(release["if"], {**push_to_dev, "vars.IMAAS_SERVICE": '{"role": "arn"}'}) is True
    assert release["concurrency"] == {"group": "release-${{ github.ref }}", "cancel-in-progress": False}


@pytest.mark.fast
def test_a_run_without_the_platform_variable_says_why_it_published_nothing() -> None:
    """The settings job runs exactly where the release is skipped for want of IMAAS_SERVICE (pull requests need
    nothing of the platform), and reads the event only through env."""
    jobs = load_workflow()["jobs"]
    settings, release = jobs["settings"], jobs["release"]
    assert settings["permissions"] == {}
    for event in ("push", "workflow_dispatch", "pull_request"):
        for variable in ("", '{"role": "arn"}'):
            context = {"github.event_name": event, "github.ref": "refs/heads/dev", "vars.IMAAS_SERVICE": variable}
            runs = evaluate_condition(settings["if"], context)
            assert runs is (event != "pull_request" and variable == ""), (event, variable)
            if event != "pull_request":
                assert runs is not evaluate_condition(release["if"], context)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("is_template", "event", "created", "status", "says"),
    [
        ("true", "push", "false", 0, "the service template repository: nothing to publish"),
        # A generated repository's first run: a warning with what to do, not a red run.
        ("false", "push", "true", 0, "::warning title=IMaaS platform settings not there yet::"),
        # Later: the variable should be there, and its absence is an error.
        ("false", "push", "false", 1, "::error title=IMAAS_SERVICE missing::"),
        ("false", "workflow_dispatch", "", 1, "::error title=IMAAS_SERVICE missing::"),
    ],
)
def test_the_settings_report_tells_a_first_run_from_a_missing_variable(
    tmp_path: Path, is_template: str, event: str, created: str, status: int, says: str
) -> None:
    script = step_running("settings", "IMAAS_SERVICE")["run"]
    environment = {"IS_TEMPLATE": is_template, "EVENT": event, "CREATED": created}
    result = run_step(script, tmp_path, tmp_path, environment)
    assert result.returncode == status, result.stdout + result.stderr
    assert says in result.stdout
    if status == 0 and is_template == "false":
        summary = (tmp_path / ".summary").read_text()
        assert "`IMAAS_SERVICE`" in summary and "Run workflow" in summary


@pytest.mark.fast
def test_checkouts_keep_no_credentials_and_scripts_interpolate_nothing() -> None:
    for job in ("build", "release", "settings"):
        if job != "settings":
            assert step_using(job, "actions/checkout")["with"] == {"persist-credentials": False}
        for step in steps(job):
            # Untrusted values (branch names, commit messages) and variables reach scripts through env only.
            assert "${{" not in step.get("run", ""), f"{job}: {step.get('name')} interpolates into its script"


@pytest.mark.fast
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


@pytest.mark.fast
def test_build_runs_the_mi_build_and_unit_tests_then_the_image_and_the_smoke_test() -> None:
    java = step_using("build", "actions/setup-java")["with"]
    # Micro Integrator 4.4 runs on Java 11, 17 and 21; the unit tests start one.
    assert java == {"distribution": "temurin", "java-version": "21", "cache": "maven"}
    roles = {
        "actions/setup-java@": "java",
        "mvn --batch-mode --no-transfer-progress clean install": "build and unit tests",
        "kustomize build": "manifests",
        DOCKER_BUILD: "image",
        "curl -fsS http://localhost:8290/health": "smoke test",
    }
    order = [
        role for step in steps("build") for text, role in roles.items() if text in step.get("uses", step.get("run", ""))
    ]
    assert order == ["java", "build and unit tests", "manifests", "image", "smoke test"]
    assert "-Dmaven.test.skip" not in step_running("build", "clean install")["run"], "the build job runs the tests"
    assert "docker logs" in step_running("build", "curl -fsS")["run"]


@pytest.mark.fast
def test_the_release_packs_the_tested_commit_again_before_the_image() -> None:
    assert step_using("release", "actions/setup-java")["with"] == step_using("build", "actions/setup-java")["with"]
    order = [
        text
        for step in steps("release")
        for text in ("-Dmaven.test.skip=true clean install", "docker build --file deployment/docker/Dockerfile")
        if text in step.get("run", "")
    ]
    assert order == ["-Dmaven.test.skip=true clean install", "docker build --file deployment/docker/Dockerfile"]


# ---------------------------------------------------------------------------------------------------------------
# The workflow: actionlint.


@pytest.mark.slow
def test_the_workflow_passes_actionlint() -> None:
    result = actionlint(WORKFLOW_PATH)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.slow
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


@pytest.mark.slow
def test_actionlint_tool_reports_usage_errors() -> None:
    assert actionlint().returncode == 2
    assert actionlint(TEMPLATE_DIR / "no-such-workflow.yaml").returncode == 2


# ---------------------------------------------------------------------------------------------------------------
# The workflow's scripts, run for real with stand-ins for mvn, docker, curl and `kustomize edit`.


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
        timeout=WAIT_SECONDS,
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


@pytest.mark.slow
def test_the_health_check_passes_when_the_service_answers_up(tmp_path: Path, container_tools: Path) -> None:
    result = run_health_step(tmp_path, container_tools, running=True, health='{"status":"UP"}', metrics=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MI-LOG" not in result.stdout
    docker_calls = (tmp_path / "docker.log").read_text().splitlines()
    assert docker_calls[0].startswith("run --detach --name service --publish 8290:8290")
    assert docker_calls[-1] == "rm --force service", "the container is removed"


@pytest.fixture
def maven(tmp_path: Path) -> Path:
    """An `mvn` stand-in: it logs its arguments, writes the CApps named in `cars` into target/ and exits with the
    status in `status` (a failed unit test ends Maven's build with 1)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    write_tool(
        tools,
        "mvn",
        f"""\
        import pathlib, sys
        state = pathlib.Path({str(tmp_path)!r})
        with open(state / "mvn.log", "a") as log:
            log.write(" ".join(sys.argv[1:]) + "\\n")
        (state / "target").mkdir(exist_ok=True)
        for name in (state / "cars").read_text().split():
            (state / "target" / name).write_text("PK")
        sys.exit(int((state / "status").read_text()))
        """,
    )
    return tools


def run_build_step(tmp_path: Path, tools: Path, *, cars: list[str], status: int = 0):
    (tmp_path / "cars").write_text(" ".join(cars))
    (tmp_path / "status").write_text(str(status))
    script = step_running("build", "clean install")["run"]
    return run_step(script, tmp_path, tools, {})


@pytest.mark.slow
def test_the_build_step_passes_with_the_capp_built_and_the_tests_passed(tmp_path: Path, maven: Path) -> None:
    result = run_build_step(tmp_path, maven, cars=["wso2mi-service_1.0.0.car"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "built target/wso2mi-service_1.0.0.car" in result.stdout
    assert (tmp_path / "mvn.log").read_text() == "--batch-mode --no-transfer-progress clean install\n"


@pytest.mark.parametrize(
    ("cars", "status", "error"),
    [
        (["wso2mi-service_1.0.0.car"], 1, None),  # a unit test failed: Maven's own report is the message
        ([], 0, "::error::the build produced 0 composite applications in target/, expected one"),
        (["wso2mi-service_1.0.0.car", "old_0.9.0.car"], 0, "::error::the build produced 2 composite applications"),
    ],
)
@pytest.mark.slow
def test_the_build_step_fails_on_failed_tests_or_a_missing_capp(
    tmp_path: Path, maven: Path, cars: list[str], status: int, error: str | None
) -> None:
    result = run_build_step(tmp_path, maven, cars=cars, status=status)
    assert result.returncode == 1
    if error:
        assert error in result.stdout


@pytest.mark.parametrize(
    ("running", "health", "metrics", "error"),
    [
        (False, None, True, "the container stopped"),
        (True, '{"status":"DOWN"}', True, '/health did not report {"status":"UP"}'),
        (True, '{"status":"UP"}', False, "the Prometheus metrics endpoint"),
    ],
)
@pytest.mark.slow
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
@pytest.mark.slow
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


@pytest.mark.slow
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
        deployment = only(build(check / "deploy" / "overlays" / environment), "Deployment")
        assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == image

    again = run_step(script, runner, tools, env)
    assert again.returncode == 0
    assert "already uses" in again.stdout
    assert git(check, "ls-remote", str(remote), "dev").split()[0] == git(check, "rev-parse", "HEAD")
