"""An onboarding pull request keeps the tests green: no test depends on which tenants the platform has.

The suite is run again on a copy of the project whose `tenants/` folder has one more tenant, made as a team makes
its own (`imaas new`, then services, `allowFrom` and an environment subset added by hand).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from helpers import PROJECT_DIR

NESTED = "IMAAS_ONBOARDING_COPY"
IGNORED = shutil.ignore_patterns(".venv", ".git", "node_modules", "build", "__pycache__", ".ruff_cache")


@pytest.mark.skipif(os.environ.get(NESTED) == "1", reason="already the onboarding copy")
def test_adding_a_valid_tenant_leaves_the_tests_green(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(PROJECT_DIR, project, ignore=IGNORED)
    if (PROJECT_DIR / "node_modules").is_dir():
        (project / "node_modules").symlink_to(PROJECT_DIR / "node_modules")
    imaas = [sys.executable, "-m", "imaas"]
    # A name the project's tenants do not have yet, whichever tenants it has.
    taken = {path.stem for path in (project / "tenants").iterdir()}
    name = next(f"onboard-{index}" for index in range(len(taken) + 1) if f"onboard-{index}" not in taken)
    made = subprocess.run(
        [*imaas, "new", name, "--contact", f"{name}@example.com", "--maintainer", "zz-lead", "--service", "feed"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    tenant = project / "tenants" / f"{name}.yaml"
    document = yaml.safe_load(tenant.read_text())
    spec = document["spec"]
    spec["environments"] = ["dev", "prod"]
    spec["services"] += [{"name": "ledger-sync", "environments": ["prod"], "description": "Ledger to ERP"}]
    neighbours = sorted(path.stem for path in (project / "tenants").glob("*.yaml") if path != tenant)
    spec["network"] = {"allowFrom": neighbours[:1]}
    tenant.write_text(yaml.safe_dump(document, sort_keys=False))
    valid = subprocess.run([*imaas, "validate"], cwd=project, capture_output=True, text=True, check=False)
    assert valid.returncode == 0, valid.stdout + valid.stderr

    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-n", "auto", "-p", "no:cacheprovider"],
        cwd=project,
        env={**os.environ, NESTED: "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert suite.returncode == 0, suite.stdout[-4000:] + suite.stderr[-2000:]
