"""Every chart version the stacks pin, checked against its Helm repository before `pulumi up`.

A pin that the repository does not have fails `up` only when Helm reaches that release, after everything before it
was applied; checked first, a wrong pin stops the deployment before it starts. The deploy workflow runs
`python -m imaas.checks.chart_pins` (it has the network); the tests give it recorded indexes instead.

Exit 0 when every pin exists, 1 naming each one that does not (or whose repository could not be read).
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from imaas.checks.sharding import project_stacks
from imaas.declarations import charts
from imaas.model.settings import StackSettings

INDEX_TIMEOUT_SECONDS = 60


@dataclass(frozen=True, order=True)
class Pin:
    repository: str
    chart: str
    version: str

    @property
    def index_url(self) -> str:
        return f"{self.repository.rstrip('/')}/index.yaml"


def stack_pins(settings: StackSettings) -> set[Pin]:
    """The chart versions one stack pins, installed or not: a chart switched off today is switched on later."""
    return {Pin(chart.repository, chart.name, release.version) for chart, release in charts.releases(settings).items()}


def read_index(url: str) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "imaas-chart-pins"})
    with urllib.request.urlopen(request, timeout=INDEX_TIMEOUT_SECONDS) as response:
        return yaml.safe_load(response.read())


def missing_pins(pins: set[Pin], fetch: Callable[[str], Any] = read_index) -> list[str]:
    """A line for each pin its repository's index does not list, and for each index that could not be read."""
    problems: list[str] = []
    indexes: dict[str, Any] = {}
    for pin in sorted(pins):
        if pin.index_url not in indexes:
            try:
                indexes[pin.index_url] = fetch(pin.index_url)
            except Exception as error:  # noqa: BLE001 (any failure to read is reported, never a traceback)
                indexes[pin.index_url] = None
                problems.append(f"{pin.index_url}: could not be read ({error})")
        index = indexes[pin.index_url]
        if index is None:
            continue
        entries = (index.get("entries") or {}) if isinstance(index, dict) else {}
        versions = {str(entry.get("version")) for entry in entries.get(pin.chart) or [] if isinstance(entry, dict)}
        if pin.version not in versions:
            newest = sorted(versions, key=_version_key)[-3:]
            problems.append(
                f"{pin.chart} {pin.version}: not in {pin.index_url} (its newest: {', '.join(newest) or 'none'})"
            )
    return problems


def _version_key(version: str) -> tuple[int, ...]:
    core = version.split("-", 1)[0].split("+", 1)[0]
    return tuple(int(part) if part.isdigit() else -1 for part in core.split("."))


def main(project_dir: Path | None = None, fetch: Callable[[str], Any] = read_index) -> int:
    project_dir = Path.cwd() if project_dir is None else project_dir
    pins: dict[Pin, list[str]] = {}
    for stack, settings in project_stacks(project_dir).items():
        for pin in stack_pins(settings):
            pins.setdefault(pin, []).append(stack)
    problems = missing_pins(set(pins), fetch)
    for pin in sorted(pins):
        print(f"{pin.chart} {pin.version} ({pin.repository}): stacks {', '.join(sorted(pins[pin]))}")
    for problem in problems:
        print(f"::error title=chart version::{problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
