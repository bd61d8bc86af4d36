"""The chart version check the deploy workflow runs before `pulumi up` (imaas/checks/chart_pins.py), on recorded
repository indexes: every pin of every shipped stack file exists, and a pin or repository that does not is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from planning import PROJECT_DIR

from imaas.checks import chart_pins
from imaas.checks.sharding import project_stacks

pytestmark = pytest.mark.fast

RECORDED = json.loads((Path(__file__).parent / "data" / "chart-indexes.json").read_text(encoding="utf-8"))
DEPLOY = PROJECT_DIR / ".github" / "workflows" / "deploy.yaml"


def recorded_index(url: str) -> dict[str, Any]:
    """The index a repository serves, as recorded (names and versions only)."""
    repository = url.removesuffix("index.yaml")
    for known, data in RECORDED["repositories"].items():
        if known.rstrip("/") + "/" == repository:
            return {
                "apiVersion": "v1",
                "entries": {n: [{"version": v} for v in vs] for n, vs in data["entries"].items()},
            }
    raise OSError(f"no route to {url}")


def test_every_pin_of_the_shipped_stacks_is_in_its_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert chart_pins.main(PROJECT_DIR, recorded_index) == 0
    listed = capsys.readouterr().out
    for name in ("loki 18.11.0", "fluent-bit 0.58.1", "argo-cd 10.1.1", "kube-prometheus-stack 86.3.2"):
        assert name in listed


def test_the_versions_pinned_before_are_reported_missing() -> None:
    pins = {
        chart_pins.Pin("https://grafana-community.github.io/helm-charts", "loki", "18.13.5"),
        chart_pins.Pin("https://fluent.github.io/helm-charts", "fluent-bit", "0.58.2"),
        chart_pins.Pin("https://argoproj.github.io/argo-helm", "argo-cd", "10.10.2"),
        chart_pins.Pin("https://argoproj.github.io/argo-helm", "argo-cd", "10.1.1"),
    }
    problems = chart_pins.missing_pins(pins, recorded_index)
    assert [problem.split(":")[0] for problem in problems] == [
        "argo-cd 10.10.2",
        "fluent-bit 0.58.2",
        "loki 18.13.5",
    ]
    assert "its newest: 10.0.1, 10.1.0, 10.1.1" in problems[0]


def test_a_repository_that_cannot_be_read_fails_the_check_once() -> None:
    pins = {
        chart_pins.Pin("https://charts.invalid", "a", "1.0.0"),
        chart_pins.Pin("https://charts.invalid", "b", "1.0.0"),
    }
    assert chart_pins.missing_pins(pins, recorded_index) == [
        "https://charts.invalid/index.yaml: could not be read (no route to https://charts.invalid/index.yaml)"
    ]


def test_a_stack_overriding_a_pin_is_checked_at_its_own_version() -> None:
    settings = next(iter(project_stacks(PROJECT_DIR).values()))
    changed = settings.model_copy(update={"chart_versions": {"loki": "18.99.0"}})
    problems = chart_pins.missing_pins(chart_pins.stack_pins(changed), recorded_index)
    assert [problem.split(":")[0] for problem in problems] == ["loki 18.99.0"]


def test_the_deploy_workflow_checks_the_pins_before_any_update() -> None:
    workflow = yaml.safe_load(DEPLOY.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["stacks"]["steps"]
    assert any("python -m imaas.checks.chart_pins" in step.get("run", "") for step in steps)
    # Every update job waits for the stacks job, whose failure skips them all.
    for job in ("shared", "global", "hosting"):
        needs = workflow["jobs"][job]["needs"]
        assert "stacks" in ([needs] if isinstance(needs, str) else needs)
