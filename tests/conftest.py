"""Fixtures shared by the test modules, the tiers' guards, and the versions of the external tools in the header."""

from __future__ import annotations

import subprocess

import pytest
from linters import found_tool
from tiers import (
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_makereport,
    pytest_runtest_protocol,
)

__all__ = [
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_runtest_makereport",
    "pytest_runtest_protocol",
]

# What the clusters run (the pinned kube-prometheus-stack's Prometheus and Alertmanager) against what the tests can
# install; the gaps are listed in the README ("Two commands").
CLUSTER_VERSIONS = {"promtool": "Prometheus 3.12", "amtool": "Alertmanager 0.33", "nginx": "nginx 1.31"}


def tool_versions() -> list[str]:
    """The external tools the tests run, with their versions (and the gap to the clusters' where one is known)."""
    lines = []
    for tool in ("promtool", "amtool", "nginx", "kubectl"):
        found = found_tool(tool)
        if found is None:
            lines.append(f"{tool}: not installed")
            continue
        arguments = {"kubectl": ["version", "--client"], "nginx": ["-v"]}.get(tool, ["--version"])
        printed = subprocess.run([found, *arguments], capture_output=True, text=True, check=False)
        first = (printed.stdout or printed.stderr).strip().splitlines()[:1]
        cluster = f" (the clusters run {CLUSTER_VERSIONS[tool]})" if tool in CLUSTER_VERSIONS else ""
        lines.append(f"{tool}: {first[0] if first else 'unknown version'}{cluster}")
    return lines


def pytest_sessionstart(session: pytest.Session) -> None:
    """The versions, printed even under `-q` (which hides pytest's own header), once, by the controlling process."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not hasattr(session.config, "workerinput"):
        for line in tool_versions():
            reporter.write_line(line)


@pytest.fixture(params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as a CI log, so that assertions on their text do not depend on wrapping."""
    from imaas.cli import output

    monkeypatch.setattr(output.out, "width", 200)
