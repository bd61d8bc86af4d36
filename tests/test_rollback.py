"""Rollback in one step, with a real git on a service repository made from the template: it promotes, rolls prod
back, promotes again, and every merge is a plain `git merge --no-ff` as GitHub's merge button makes it. What each
environment runs is rendered with the real kustomize; the rollback the template's script writes is the change the
promotion gate accepts, and nothing else is."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import TEMPLATE_DIR, WAIT_SECONDS
from kustomize import build

from imaas.incluster import promotion_gate as gate

pytestmark = pytest.mark.slow

REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/order-sync"
SCRIPT = ".github/scripts/imaas_release.py"


class Repository:
    def __init__(self, path: Path) -> None:
        self.path = path

    def git(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=check,
        )

    def head(self, ref: str = "HEAD") -> str:
        return self.git("rev-parse", ref).stdout.strip()

    def release(self, change: str) -> str:
        """A change on dev, then CI's release: the image built from it, tagged with its commit, into deploy/base."""
        self.git("checkout", "-q", "dev")
        source = self.path / "src" / "main" / "wso2mi" / "artifacts" / "apis" / "HelloApi.xml"
        source.write_text(source.read_text() + f"<!-- {change} -->\n")
        self.git("commit", "-qam", change)
        built = self.head()
        base = self.path / "deploy" / "base" / "kustomization.yaml"
        text = re.sub(r"newName: \S+", f"newName: {REGISTRY}", base.read_text())
        base.write_text(re.sub(r"newTag: \S+", f"newTag: {built}", text))
        self.git("commit", "-qam", f"Deploy {built} to dev")
        return built

    def merge(self, source: str, target: str) -> None:
        """A pull request from `source` into `target`, merged with a merge commit."""
        self.git("checkout", "-q", target)
        merged = self.git("merge", "--no-ff", "-m", f"Merge {source} into {target}", source, check=False)
        assert merged.returncode == 0, merged.stdout + merged.stderr

    def runs(self, environment: str) -> str:
        """The image the environment's Deployment runs, as Argo CD renders its branch."""
        self.git("checkout", "-q", environment)
        (deployment,) = [o for o in build(self.path / "deploy" / "overlays" / environment) if o["kind"] == "Deployment"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        return str(container["image"]).removeprefix(f"{REGISTRY}:")

    def script(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, SCRIPT, *args], cwd=self.path, capture_output=True, text=True, timeout=WAIT_SECONDS
        )

    def rollback(self, environment: str, number: int) -> tuple[str, gate.Verdict]:
        """The rollback workflow: a branch from the environment's, the script, one commit; and the gate's verdict
        on that pull request, from what GitHub's compare and contents would answer."""
        self.git("checkout", "-q", environment)
        base = self.head()
        branch = f"imaas-rollback/{environment}-{number}"
        self.git("switch", "-q", "-c", branch)
        result = self.script("rollback", environment)
        assert result.returncode == 0, result.stderr
        overlay = f"deploy/overlays/{environment}/kustomization.yaml"
        self.git("commit", "-qm", f"Roll {environment} back", "--", overlay)
        target = result.stdout.strip().rsplit(":", 1)[1]
        change = gate.RollbackChange(
            head=self.head(),
            changed_files=self.git("diff", "--name-only", f"{base}...HEAD").stdout.split(),
            behind_base=int(self.git("rev-list", "--count", f"HEAD..{base}").stdout),
            overlay_before=self.git("show", f"{base}:{overlay}").stdout,
            overlay_after=self.git("show", f"HEAD:{overlay}").stdout,
            base_after=self.git("show", "HEAD:deploy/base/kustomization.yaml").stdout,
            target_in_branch=self.git("merge-base", "--is-ancestor", target, base, check=False).returncode == 0,
        )
        return branch, gate.rollback_verdict(change, environment)


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    """A service repository as the platform creates it: the template on dev, test and prod cut from it."""
    path = tmp_path / "payments-order-sync"
    shutil.copytree(TEMPLATE_DIR, path)
    repo = Repository(path)
    repo.git("init", "-q", "-b", "dev")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "Service template")
    repo.git("branch", "test")
    repo.git("branch", "prod")
    return repo


def promote(repo: Repository) -> None:
    repo.merge("dev", "test")
    repo.merge("test", "prod")


def test_promote_roll_back_and_promote_again_merges_cleanly(repository: Repository) -> None:
    repo = repository
    first = repo.release("first")
    promote(repo)
    second = repo.release("second")
    promote(repo)
    assert (repo.runs("test"), repo.runs("prod")) == (second, second)

    branch, verdict = repo.rollback("prod", 1)
    assert verdict == gate.Verdict("success", f"rollback of prod to {first[:12]}, promoted there before")
    repo.merge(branch, "prod")
    assert (repo.runs("test"), repo.runs("prod")) == (second, first)
    # The CI's mark job tags what prod runs now: the rolled-back image.
    assert repo.script("current", "prod").stdout.strip() == f"{REGISTRY}:{first}"

    third = repo.release("third")
    promote(repo)
    assert (repo.runs("dev"), repo.runs("test"), repo.runs("prod")) == (third, third, third)

    # Another rollback goes to what prod ran before the third: the first, never the second it rolled back from.
    branch, verdict = repo.rollback("prod", 2)
    assert verdict.state == "success"
    repo.merge(branch, "prod")
    assert repo.runs("prod") == first
    fourth = repo.release("fourth")
    promote(repo)
    assert repo.runs("prod") == fourth


def test_a_rollback_of_test_leaves_the_next_promotion_from_dev_clean(repository: Repository) -> None:
    repo = repository
    first = repo.release("first")
    promote(repo)
    repo.release("second")
    repo.merge("dev", "test")
    branch, verdict = repo.rollback("test", 1)
    assert verdict.state == "success"
    repo.merge(branch, "test")
    assert repo.runs("test") == first
    third = repo.release("third")
    promote(repo)
    assert (repo.runs("test"), repo.runs("prod")) == (third, third)


def test_the_gate_refuses_a_rollback_that_goes_forward_or_changes_more(repository: Repository) -> None:
    repo = repository
    repo.release("first")
    promote(repo)
    repo.release("second")
    promote(repo)
    newer = repo.release("not promoted")
    _, verdict = repo.rollback("prod", 1)
    assert verdict.state == "success"
    # The same block pointed at a build prod never had.
    overlay = repo.path / "deploy" / "overlays" / "prod" / "kustomization.yaml"
    text = overlay.read_text()
    overlay.write_text(re.sub(r"(# imaas-rollback: begin[\s\S]*newTag: )\S+", rf"\g<1>{newer}", text))
    repo.git("commit", "-qam", "forward")
    change = gate.RollbackChange(
        head=repo.head(),
        changed_files=["deploy/overlays/prod/kustomization.yaml"],
        behind_base=0,
        overlay_before=repo.git("show", "prod:deploy/overlays/prod/kustomization.yaml").stdout,
        overlay_after=overlay.read_text(),
        base_after=repo.git("show", "HEAD:deploy/base/kustomization.yaml").stdout,
        target_in_branch=repo.git("merge-base", "--is-ancestor", newer, "prod", check=False).returncode == 0,
    )
    assert gate.rollback_verdict(change, "prod").description.endswith(f"{newer[:7]} was never promoted to prod")


def test_there_is_nothing_to_roll_back_to_before_a_second_release(repository: Repository) -> None:
    repo = repository
    repo.release("first")
    promote(repo)
    repo.git("checkout", "-q", "prod")
    result = repo.script("rollback", "prod")
    assert result.returncode != 0
    assert "prod ran no other image" in result.stderr
