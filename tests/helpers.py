"""Helpers for the tenant file tests: writing tenant files whose lines and columns are known."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from collections.abc import Iterable
from pathlib import Path

from imaas.inputs import template_source
from imaas.inputs.problems import Problem

PROJECT_DIR = Path(__file__).resolve().parent.parent
# How long a test waits for an external process or a local server: long enough that only a hang, never a loaded
# 2-core machine, reaches it; IMAAS_TEST_TIMEOUT_SCALE multiplies it on a slower one.
TIMEOUT_SCALE = float(os.environ.get("IMAAS_TEST_TIMEOUT_SCALE", "1"))
WAIT_SECONDS = 600 * TIMEOUT_SCALE
TEMPLATE_DIR = PROJECT_DIR / template_source.TEMPLATE_DIR

# The lines `tenant_text` always writes; what is passed as `spec` follows, from line 9, indented by 2.
HEADER = """\
apiVersion: imaas.io/v1alpha1
kind: Tenant
metadata:
  name: {name}
  contact: {name}-team@example.com
spec:
  team:
    maintainers: [alice]
"""
# The settings every stack needs about its cluster, for tests that make stack settings of their own: as values,
# and as lines of a stack file.
CLUSTER_VALUES: dict[str, object] = {
    "ingressHostSuffix": "apps.example.com",
    "ecrRegistry": "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "argocdImpersonation": True,
    "preinstalled": ["argocd"],
}
CLUSTER_SETTINGS = "".join(f"  imaas:{key}: {json.dumps(value)}\n" for key, value in CLUSTER_VALUES.items())


def copy_project(destination: Path) -> Path:
    """The project's program and settings at `destination`, for a test that edits a stack file: without the shipped
    tenants (tests bring their own), the tests, the installed tools or anything built."""
    ignored = shutil.ignore_patterns(".venv", ".git", ".tools", "build", "node_modules", "tenants", "tests")
    shutil.copytree(PROJECT_DIR, destination, ignore=ignored)
    return destination


def tenant_text(name: str, spec: str = "") -> str:
    """A valid tenant file named `name`; `spec` is YAML written at the left margin and added under `spec:`.

    The name's value is at line 4, column 9; the first line of `spec` is line 9 and its text starts at column 3.
    """
    return HEADER.format(name=name) + textwrap.indent(textwrap.dedent(spec), "  ")


def write_tenant(directory: Path, name: str, spec: str = "", *, suffix: str = ".yaml", text: str | None = None) -> Path:
    """Write `<directory>/<name><suffix>` holding `text`, or a valid tenant named `name` with `spec` added."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}{suffix}"
    path.write_text(tenant_text(name, spec) if text is None else textwrap.dedent(text), encoding="utf-8")
    return path


def write_tenants(directory: Path, **tenants: dict[str, object]) -> Path:
    """A folder of valid tenants, one per keyword (underscores in a name become dashes); each value's entries are
    added under `spec:`, as YAML flow values."""
    for name, spec in tenants.items():
        entries = "".join(f"{key}: {json.dumps(value)}\n" for key, value in spec.items())
        write_tenant(directory, name.replace("_", "-"), entries)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def git(directory: Path, *args: str) -> str:
    """`git args` in `directory`, which must succeed; its output, stripped."""
    result = subprocess.run(["git", *args], cwd=directory, check=True, capture_output=True, text=True)
    return result.stdout.strip()


def lines(problems: Iterable[Problem]) -> list[str]:
    """The problems as the command line prints them."""
    return [str(problem) for problem in problems]
