"""The dependency updates: Renovate's configurations for this repository and for the service template, checked by
Renovate's own validator, and its regex managers checked against every chart the stack settings pin."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import TEMPLATE_DIR
from linters import renovate_config_validator
from planning import PROJECT_DIR, plan_stack
from pydantic import BaseModel

from imaas.declarations import images
from imaas.declarations.types import HELM_RELEASE
from imaas.model.settings import ChartSettings, ObservabilitySettings, StackSettings

PLATFORM_CONFIG = PROJECT_DIR / ".github" / "renovate.json"
TEMPLATE_CONFIG = TEMPLATE_DIR / ".github" / "renovate.json"
SETTINGS_FILE = PROJECT_DIR / "imaas" / "model" / "settings.py"
IMAGES_FILE = PROJECT_DIR / "imaas" / "declarations" / "images.py"


def config(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def python_pattern(pattern: str) -> re.Pattern[str]:
    """A Renovate matchString (JavaScript syntax) as Python's: named groups are `(?<name>` there."""
    return re.compile(pattern.replace("(?<", "(?P<"))


def file_pattern(pattern: str) -> re.Pattern[str]:
    assert pattern.startswith("/") and pattern.endswith("/"), f"{pattern}: a regex is written /.../"
    return re.compile(pattern[1:-1])


@pytest.mark.slow
@pytest.mark.parametrize("path", [PLATFORM_CONFIG, TEMPLATE_CONFIG], ids=["platform", "template"])
def test_renovate_validates_the_configuration(path: Path) -> None:
    done = renovate_config_validator(path)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_renovate_refuses_a_broken_configuration(tmp_path: Path) -> None:
    broken = config(PLATFORM_CONFIG)
    broken["packageRule"] = broken.pop("packageRules")
    broken["customManagers"][0].pop("depNameTemplate")
    (tmp_path / "renovate.json").write_text(json.dumps(broken))
    done = renovate_config_validator(tmp_path / "renovate.json")
    assert done.returncode != 0
    assert "packageRule" in done.stdout + done.stderr


def charts_of(model: type[BaseModel]) -> dict[str, type[ChartSettings]]:
    return {
        field.alias or name: field.annotation
        for name, field in model.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, ChartSettings)
    }


def chart_fields() -> dict[str, type[ChartSettings]]:
    """Every chart the settings pin, by its key in a stack file (under `imaas:observability` or, like
    metricsServer, a setting of its own)."""
    return charts_of(ObservabilitySettings) | charts_of(StackSettings)


@functools.cache
def released_charts() -> dict[str, tuple[str, str]]:
    """What the program installs for each chart setting, by its key: (chart, repository). Each chart is given a
    version of its own, so the plan says which release a setting drives."""
    keys = sorted(chart_fields())
    versions = {key: f"0.0.{number}" for number, key in enumerate(keys, start=1)}
    overrides = {key: {"version": version} for key, version in versions.items()}
    overrides["argocd"] = {**overrides["argocd"], "install": True}
    observability = {key: value for key, value in overrides.items() if key in charts_of(ObservabilitySettings)}
    own = {key: value for key, value in overrides.items() if key not in observability}
    own["argocdPreinstalled"] = None  # installed here instead
    plan = plan_stack("dev", observability=observability, **own)
    by_version = {
        r.inputs["version"]: (r.inputs["chart"], r.inputs["repositoryOpts"]["repo"])
        for r in plan.resources
        if r.type == HELM_RELEASE
    }
    return {key: by_version[version] for key, version in versions.items()}


def chart_managers(renovate: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in renovate["customManagers"] if m.get("datasourceTemplate") == "helm"]


def matches(renovate: dict[str, Any], text: str, path: str) -> list[tuple[dict[str, Any], str]]:
    """The (manager, current version) pairs Renovate's helm managers find in `text` of file `path`."""
    found = []
    for manager in chart_managers(renovate):
        if not any(file_pattern(p).search(path) for p in manager["managerFilePatterns"]):
            continue
        for pattern in manager["matchStrings"]:
            found += [(manager, match["currentValue"]) for match in python_pattern(pattern).finditer(text)]
    return found


def unmanaged_charts(renovate: dict[str, Any]) -> list[str]:
    """The chart settings that no helm manager updates exactly: once, at the model's version, under the chart's
    name and from the repository the program installs it from."""
    released = released_charts()
    found = matches(renovate, SETTINGS_FILE.read_text(), "imaas/model/settings.py")
    problems = []
    for key, model in chart_fields().items():
        chart, repository = released[key]
        mine = [(m, version) for m, version in found if m["depNameTemplate"] == chart]
        expected = [(repository, model.model_fields["version"].default)]
        if [(m["registryUrlTemplate"], version) for m, version in mine] != expected:
            problems.append(key)
    return problems + [m["depNameTemplate"] for m in chart_managers(renovate) if m not in [f for f, _ in found]]


@pytest.mark.slow
def test_every_chart_the_settings_pin_has_exactly_its_manager() -> None:
    assert unmanaged_charts(config(PLATFORM_CONFIG)) == []


@pytest.mark.slow
def test_a_chart_without_its_manager_is_caught() -> None:
    renovate = config(PLATFORM_CONFIG)
    renovate["customManagers"] = [m for m in renovate["customManagers"] if m.get("depNameTemplate") != "loki"]
    assert unmanaged_charts(renovate) == ["loki"]
    renovate = config(PLATFORM_CONFIG)
    tempo = next(m for m in renovate["customManagers"] if m.get("depNameTemplate") == "tempo")
    tempo["registryUrlTemplate"] = "https://charts.example.com"
    assert unmanaged_charts(renovate) == ["tempo"]


@pytest.mark.slow
@pytest.mark.parametrize("style", ["block", "flow"])
def test_a_stack_files_chart_version_is_found_too(style: str) -> None:
    released = released_charts()
    keys = sorted(chart_fields())
    versions = {key: f"1.2.{number}" for number, key in enumerate(keys)}
    if style == "block":
        body = "".join(f"    {key}:\n      version: {versions[key]}\n      values: {{}}\n" for key in keys)
    else:
        body = "".join(f'    {key}: {{version: "{versions[key]}"}}\n' for key in keys)
    text = f"config:\n  aws:region: eu-west-1\n  imaas:observability:\n{body}"
    found = {(m["depNameTemplate"], version) for m, version in matches(config(PLATFORM_CONFIG), text, "Pulumi.x.yaml")}
    assert found == {(released[key][0], versions[key]) for key in keys}


@pytest.mark.fast
def test_the_files_renovate_must_read_are_under_its_managers() -> None:
    platform = config(PLATFORM_CONFIG)
    assert {"pip_requirements", "github-actions", "npm", "dockerfile", "custom.regex"} <= set(
        platform["enabledManagers"]
    )
    # Renovate's default file patterns for these managers reach the template's files in this repository too: its
    # base image and actions are bumped here, and the template sync brings them to every service.
    assert (TEMPLATE_DIR / "deployment" / "docker" / "Dockerfile").is_file()
    assert {"dockerfile", "github-actions"} <= set(config(TEMPLATE_CONFIG)["enabledManagers"])
    rules = platform["packageRules"]
    assert any(rule.get("pinDigests") and rule.get("matchManagers") == ["dockerfile"] for rule in rules)
    paired = [
        rule
        for rule in rules
        if set(rule.get("matchDepNames", [])) >= {"prometheus-operator-crds", "kube-prometheus-stack"}
    ]
    assert paired and paired[0]["groupName"], "the CRDs and the stack that needs them in one pull request"


def image_matches(renovate: dict[str, Any], text: str) -> set[str]:
    managers = [m for m in renovate["customManagers"] if m.get("datasourceTemplate") == "docker"]
    return {
        f"{found['depName']}:{found['currentValue']}"
        for manager in managers
        for pattern in manager["matchStrings"]
        for found in python_pattern(pattern).finditer(text)
    }


@pytest.mark.fast
def test_every_image_the_platform_pins_has_a_manager() -> None:
    assert set(images.PINNED_IMAGES) <= image_matches(config(PLATFORM_CONFIG), IMAGES_FILE.read_text())
    # An image of a registry the manager does not know is not found.
    assert not image_matches(config(PLATFORM_CONFIG), '"registry.example.com/tool:1.0"')
