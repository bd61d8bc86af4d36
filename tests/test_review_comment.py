"""The pull-request comment of the example change, as the workflow posts it: a tenant change that adds a service,
resizes another (size medium, prod 3-6 replicas) and retires a third (tests/fixtures/review).

The comment is `imaas diff --format markdown --base-tenants --head-tenants` of main's and the merge's plans of each
stack the change touches (the tenant's stack on each cluster), assembled by the workflow's own script; its text is
kept in tests/snapshots/review-comment.md (`UPDATE_SNAPSHOTS=1` refreshes it) so that a change of its wording is
reviewed like any other.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import Result
from planning import plan_stack
from typer.testing import CliRunner

from imaas import cli

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent / "fixtures" / "review"
SNAPSHOT = Path(__file__).parent / "snapshots" / "review-comment.md"
WORKFLOW = Path(__file__).resolve().parent.parent / ".github" / "workflows" / "pull-request-checks.yaml"
STACKS = ("dev.logistics", "prod.logistics")
"""The stacks the judge plans for the example change: the changed tenant's, one per cluster (DESIGN section 3)."""
COMMENT_LIMIT = 6000
RUN_URL = "https://github.com/example-org/imaas/actions/runs/1"


def workflow_report_script() -> str:
    """The Python the workflow's diff step runs to assemble the report, from the workflow's own text."""
    job = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["judge"]
    (step,) = [step for step in job["steps"] if step.get("id") == "diff"]
    script = step["run"].split("<<'PY'\n", 1)[1].rsplit("\nPY\n", 1)[0]
    return textwrap.dedent(script)


def diff(tmp_path: Path, stack: str, *options: str) -> str:
    for side in ("base", "head"):
        plan_stack(stack, FIXTURES / side).write(tmp_path / f"{side}-{stack}.json")
    arguments = [
        "diff",
        str(tmp_path / f"base-{stack}.json"),
        str(tmp_path / f"head-{stack}.json"),
        "--format",
        "markdown",
        "--base-tenants",
        str(FIXTURES / "base"),
        "--head-tenants",
        str(FIXTURES / "head"),
        *options,
    ]
    result = CliRunner().invoke(cli.app, arguments)
    assert result.exit_code == 0, result.output
    return result.stdout


@functools.cache
def reports(tmp: str) -> tuple[str, dict[str, str]]:
    """The comment as the workflow assembles it (each stack's summary under one heading per distinct change), and
    each stack's full report (the job summary's and the artifact's)."""
    tmp_path = Path(tmp)
    out = tmp_path / "plan-diff"
    full = {}
    for stack in STACKS:
        parts = {
            "diff": diff(tmp_path, stack, "--max-chars", str(58000 // len(STACKS))),
            "summary": diff(tmp_path, stack, "--full", "--max-chars", str(900000 // len(STACKS))),
            "full": diff(tmp_path, stack, "--full"),
        }
        for folder, text in parts.items():
            (out / folder).mkdir(parents=True, exist_ok=True)
            (out / folder / f"{stack}.md").write_text(text, encoding="utf-8")
        full[stack] = parts["full"]
    result = subprocess.run(
        [sys.executable, "-c", workflow_report_script(), str(out), "0123456789ab", "false"],
        env={**os.environ, "RUN_URL": RUN_URL, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")},
        capture_output=True,
        text=True,
        check=True,
    )
    (delimiter, _) = result.stdout.split("\n", 1)[0].removeprefix("comment<<"), None
    comment = result.stdout.split("\n", 1)[1].rsplit(f"\n{delimiter}\n", 1)[0]
    return comment, full


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    return reports(str(tmp_path_factory.mktemp("review")))


def test_the_comment_states_the_three_intents_in_words_before_any_resource_row(example: tuple[str, dict]) -> None:
    comment, _ = example
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(comment, encoding="utf-8")
    assert comment == SNAPSHOT.read_text(encoding="utf-8"), "differs from tests/snapshots/review-comment.md"
    for stack in STACKS:
        section = comment.split(f"stack `{stack}`", 1)[1].split("### Offline plan diff", 1)[0]
        lead = section.split("<details>", 1)[0]
        assert "- adds service `rate-shopper`: small" in lead
        assert "- retires service `customs-broker`: its Applications and their workloads go" in lead
        assert "- resizes service `shipment-tracker`: pods small -> medium" in lead
        # No resource row before the intent: the first table is the capacity table.
        assert lead.index("- adds service") < lead.index("| |")
    assert "- rescales service `shipment-tracker`: replicas prod 2-4 -> 3-6" in comment
    assert len(comment) < COMMENT_LIMIT, len(comment)


def test_no_row_presents_the_retired_service_as_renamed_into_the_added_one(example: tuple[str, dict]) -> None:
    comment, full = example
    for text in (comment, *full.values()):
        # A field line (a code span in a cell) that holds both names would present one as the other's rename.
        for line in re.findall(r"`[~+-] [^`]*`", text):
            assert not ("customs-broker" in line and "rate-shopper" in line), line
            assert not re.search(r"(sourceRepos|includes)\[\d+\]", line), line
    assert '- spec.sourceRepos: "git@github.com:example-org/logistics-customs-broker.git"' in full["prod.logistics"]
    assert '+ spec.sourceRepos: "git@github.com:example-org/logistics-rate-shopper.git"' in full["prod.logistics"]
    # The rulesets select repositories by property: the added repository carries it, and no ruleset changes.
    assert (
        "| added | `github:RepositoryCustomProperty` | `logistics-rate-shopper-imaas-service` |"
        in full["dev.logistics"]
    )
    assert all("Ruleset" not in text for text in (comment, *full.values()))


def test_each_environment_shows_its_need_against_its_quota_and_its_cost_before_and_after(
    example: tuple[str, dict],
) -> None:
    comment, _ = example
    # Dev and test (the dev cluster's sizes: small is 12 CPU): two small services at 1-2 replicas, then a medium
    # and a small one; prod (small is 20 CPU): 2-4 replicas each, then medium at 3-6 and small at 2-4 (the bounds the
    # fixture files state, whatever the defaults).
    for environment in ("dev", "test"):
        assert f"| {environment} | limits.cpu 6 -> 9/12, limits.memory 6Gi -> 9Gi/16Gi, pods 6 -> 6/20 | $" in comment
    assert "| prod | limits.cpu 10 -> 19/20, limits.memory 10Gi -> 19Gi/24Gi, pods 10 -> 12/30 | $" in comment
    costs = re.findall(r"\| (\$[\d,]+-\$[\d,]+) -> (\$[\d,]+-\$[\d,]+) \|", comment)
    assert len(costs) == 3 and all(before != after for before, after in costs)
    assert "**example prices**" in comment
    # The head plan's advisory (the explicit storage quota above the size) is in the comment, not only in a log.
    assert "`quota-within-size`: tenant logistics asks for more than its size small in storage" in comment


def test_the_full_report_keeps_every_detail(example: tuple[str, dict]) -> None:
    comment, full = example
    patch = "spec.source.kustomize.patches[target=Deployment/wso2mi-service].patch.spec.template.spec"
    assert f'~ {patch}.containers[name=wso2mi].resources.limits.cpu: "1" -> "2"' in full["prod.logistics"]
    assert (
        "~ spec.source.kustomize.patches[target=HorizontalPodAutoscaler/wso2mi-service].patch.spec.maxReplicas: 4 -> 6"
        in full["prod.logistics"]
    )
    for name in ("imaas-ci-logistics-customs-broker", "logistics-rate-shopper-dev", "logistics/rate-shopper"):
        assert f"`{name}`" in full["dev.logistics"]
        assert f"`{name}`" not in comment  # summarised per service in the comment
    # The full report leads the same way.
    assert "- retires service `customs-broker`" in full["dev.logistics"]


def test_the_review_reads_the_head_plans_findings_as_the_fleet_judged_them(tmp_path: Path) -> None:
    """The workflow's reviews read the guardrails' findings the head's fleet plan wrote (`--violations-dir`) instead
    of judging the head plan again once per report: the reports are the same, advisories included. The findings name
    the plan they judged (its stack, the sha256 of its file): those of another stack or of another plan's bytes are
    refused, and so are findings the text format would not show."""
    findings = tmp_path / "violations"
    result = CliRunner().invoke(
        cli.app,
        ["plan", "--stack", "all", "--fleet", *(arg for stack in STACKS for arg in ("--select", stack)),
         "--tenants", str(FIXTURES / "head"), "--json-dir", str(tmp_path / "fleet"), "--violations-dir", str(findings),
         "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in findings.iterdir()) == sorted(f"{stack}.json" for stack in STACKS)

    def review(stack: str, head: Path, *options: str) -> Result:
        return CliRunner().invoke(
            cli.app,
            ["diff", str(tmp_path / f"base-{stack}.json"), str(head), "--format", "markdown", "--full",
             "--base-tenants", str(FIXTURES / "base"), "--head-tenants", str(FIXTURES / "head"), *options],
        )  # fmt: skip

    for stack in STACKS:
        judged = diff(tmp_path, stack, "--full")
        assert "**Advisories**" in judged
        # As the workflow runs it: the head is the fleet's own plan file, whose bytes the findings name.
        read = review(stack, tmp_path / "fleet" / f"{stack}.json", "--violations", str(findings / f"{stack}.json"))
        assert read.exit_code == 0, read.output
        assert read.stdout == judged
    first, second = (findings / f"{stack}.json" for stack in STACKS)
    result = review(STACKS[0], tmp_path / "fleet" / f"{STACKS[0]}.json", "--violations", str(second))
    assert result.exit_code == 2
    assert f"the findings of stack {STACKS[1]}'s plan" in result.output and "plan it again" in result.output
    # The same stack's plan in other bytes (the indented file the test wrote, not the fleet's): a stale file looks so.
    result = review(STACKS[0], tmp_path / f"head-{STACKS[0]}.json", "--violations", str(first))
    assert result.exit_code == 2 and f"the findings of stack {STACKS[0]}'s plan (sha256" in result.output
    # The text table shows the changes alone: a findings file is refused, not silently ignored.
    result = CliRunner().invoke(
        cli.app,
        ["diff", str(tmp_path / f"base-{STACKS[0]}.json"), str(tmp_path / "fleet" / f"{STACKS[0]}.json"),
         "--violations", str(first)],
    )  # fmt: skip
    assert result.exit_code == 2 and "go with --format markdown" in result.output
    first.write_text('{"not": "findings"}')
    result = review(STACKS[0], tmp_path / "fleet" / f"{STACKS[0]}.json", "--violations", str(first))
    assert result.exit_code == 2 and "not the guardrail findings of a fleet plan" in result.output
    result = CliRunner().invoke(
        cli.app,
        ["diff", str(tmp_path / f"base-{STACKS[0]}.json"), str(tmp_path / f"head-{STACKS[0]}.json"), "--format",
         "markdown", "--violations", str(second)],
    )  # fmt: skip
    assert result.exit_code == 2 and "--violations goes with --base-tenants and --head-tenants" in result.output


def test_a_failing_guardrail_in_the_review_is_not_taken_for_a_bad_findings_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --violations the review judges the head plan itself: an error of the guardrails surfaces as that
    error, not as a usage error about a findings file that was never given."""

    def broken(*_: object) -> None:
        raise KeyError("a guardrail's bug")

    diff(tmp_path, STACKS[0])  # the plans, and a review judged as usual
    monkeypatch.setattr("imaas.plan.guardrail_check.check_plan", broken)
    result = CliRunner().invoke(
        cli.app,
        ["diff", str(tmp_path / f"base-{STACKS[0]}.json"), str(tmp_path / f"head-{STACKS[0]}.json"), "--format",
         "markdown", "--base-tenants", str(FIXTURES / "base"), "--head-tenants", str(FIXTURES / "head")],
    )  # fmt: skip
    assert isinstance(result.exception, KeyError) and "--violations" not in result.output
