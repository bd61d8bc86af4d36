"""The dependency updates: Renovate's configurations for this repository and for the service template, checked by
Renovate's own validator, and its regex managers checked against every chart the platform pins."""

from __future__ import annotations

import functools
import json
import re
import typing
from pathlib import Path
from typing import Any

import pytest
from helpers import TEMPLATE_DIR
from linters import renovate_config_validator
from planning import PROJECT_DIR, plan_stack

from imaas.declarations import charts, images
from imaas.declarations.types import HELM_RELEASE
from imaas.model.settings import V_TAGGED_CHARTS, ChartName

PLATFORM_CONFIG = PROJECT_DIR / ".github" / "renovate.json"
TEMPLATE_CONFIG = TEMPLATE_DIR / ".github" / "renovate.json"
CHARTS_FILE = PROJECT_DIR / "imaas" / "declarations" / "charts.py"
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


def chart_keys() -> list[str]:
    """Every chart a stack may pin another version of, by its key in `imaas:chartVersions`."""
    return sorted(typing.get_args(ChartName))


def a_version(key: str, number: int) -> str:
    return f"{'v' if key in V_TAGGED_CHARTS else ''}0.0.{number}"


@functools.cache
def released_charts() -> dict[str, tuple[str, str]]:
    """What the program installs for each key of chartVersions: (chart, repository). Each chart is given a version
    of its own, so the plan says which release a key drives."""
    versions = {key: a_version(key, number) for number, key in enumerate(chart_keys(), start=1)}
    # Argo CD installed here, not the cluster's own.
    plan = plan_stack("dev", chartVersions=versions, preinstalled=None, argocdImpersonation=None)
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
    """The charts that no helm manager updates exactly: once, at the pinned version, under the chart's name and from
    the repository the program installs it from."""
    released = released_charts()
    found = matches(renovate, CHARTS_FILE.read_text(), "imaas/declarations/charts.py")
    problems = []
    for chart in charts.CHARTS:
        name, repository = released[chart.setting]
        mine = [(m, version) for m, version in found if m["depNameTemplate"] == name]
        if [(m["registryUrlTemplate"], version) for m, version in mine] != [(repository, chart.version)]:
            problems.append(chart.setting)
    return problems + [m["depNameTemplate"] for m in chart_managers(renovate) if m not in [f for f, _ in found]]


@pytest.mark.slow
def test_every_chart_the_platform_pins_has_exactly_its_manager() -> None:
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
    versions = {key: a_version(key, number) for number, key in enumerate(chart_keys())}
    if style == "block":
        body = "".join(f"    {key}: {versions[key]}\n" for key in versions)
    else:
        body = "    {" + ", ".join(f'{key}: "{version}"' for key, version in versions.items()) + "}\n"
    values = "  imaas:chartValues:\n    loki: {singleBinary: {nodeSelector: {pool: obs}}}\n"
    text = f"config:\n  aws:region: eu-west-1\n  imaas:chartVersions:\n{body}{values}"
    found = {(m["depNameTemplate"], version) for m, version in matches(config(PLATFORM_CONFIG), text, "Pulumi.x.yaml")}
    assert found == {(released[key][0], version) for key, version in versions.items()}


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
