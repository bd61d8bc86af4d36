"""The promotion gate's decisions (imaas/incluster/promotion_gate.py) on recorded inputs (tests/data/promotion): a
healthy soak, a short soak, a firing alert and an unsynced Application, each with its verdict; rollbacks it accepts
and refuses; the loop against in-process fakes of GitHub and Kubernetes; its JWT checked by openssl."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import WAIT_SECONDS

from imaas.incluster import promotion_gate as gate
from imaas.incluster.promotion_gate import FAILURE, PENDING, SUCCESS, RollbackChange, Verdict

DATA = Path(__file__).resolve().parent / "data" / "promotion"
APPLICATIONS: dict[str, dict[str, Any]] = json.loads((DATA / "applications.json").read_text(encoding="utf-8"))
ALERTS: dict[str, dict[str, Any]] = json.loads((DATA / "alerts.json").read_text(encoding="utf-8"))
PULL: dict[str, Any] = json.loads((DATA / "pull.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SOAK = timedelta(hours=1)
HEAD = PULL["head"]["sha"]
DASHBOARD = "https://grafana.example.com/d/imaas-{tenant}-wso2mi?from={from}&to=now"


def firing(recorded: str) -> list[str]:
    return [item["metric"]["alertname"] for item in ALERTS[recorded]["data"]["result"]]


def verdict_of(application: str, alerts: str = "quiet", head: str = HEAD) -> Verdict:
    deployment = gate.deployment_of(APPLICATIONS[application], head)
    return gate.soak_verdict(deployment, head, "test", SOAK, NOW, firing(alerts))


@pytest.mark.fast
@pytest.mark.parametrize(
    ("application", "alerts", "state", "text"),
    [
        ("healthy-soaked", "quiet", SUCCESS, "7a1c0de ran healthy in test for 60m with no alert"),
        (
            "healthy-short",
            "quiet",
            PENDING,
            "soaking in test since 11:42 UTC: green at 2026-03-02 12:42 UTC if no alert fires",
        ),
        (
            "healthy-soaked",
            "error-ratio-fired",
            FAILURE,
            "IMaaSServiceErrorRatio fired in test within the last 60m: green after a quiet soak",
        ),
        ("out-of-sync", "quiet", PENDING, "7a1c0de is OutOfSync in test: waiting for Argo CD to sync it"),
    ],
    ids=["healthy soak", "short soak", "firing alert", "unsynced"],
)
def test_each_recorded_state_gets_its_verdict(application: str, alerts: str, state: str, text: str) -> None:
    assert verdict_of(application, alerts) == Verdict(state, text)


@pytest.mark.fast
def test_the_soak_counts_from_the_first_deployment_of_the_commit_not_from_a_resync() -> None:
    deployment = gate.deployment_of(APPLICATIONS["healthy-soaked"], HEAD)
    assert deployment.deployed_at == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    # ... and from the last time it became healthy, when that is later.
    assert gate.alert_window(deployment, SOAK, NOW) == SOAK


@pytest.mark.fast
def test_a_commit_that_is_not_what_the_environment_runs_is_not_promoted() -> None:
    other = "0ddba11" + HEAD[7:]
    assert verdict_of("healthy-soaked", head=other) == Verdict(
        PENDING, "test runs 7a1c0de, not 0ddba11: promote the branch test runs"
    )


@pytest.mark.fast
@pytest.mark.parametrize(("health", "state"), [("Degraded", FAILURE), ("Progressing", PENDING), ("Missing", PENDING)])
def test_an_application_that_is_not_healthy_is_not_promoted(health: str, state: str) -> None:
    application = copy.deepcopy(APPLICATIONS["healthy-soaked"])
    application["status"]["health"]["status"] = health
    deployment = gate.deployment_of(application, HEAD)
    assert gate.soak_verdict(deployment, HEAD, "test", SOAK, NOW, []).state == state


@pytest.mark.fast
def test_the_alerts_of_a_young_deployment_are_read_since_it_was_deployed() -> None:
    deployment = gate.deployment_of(APPLICATIONS["healthy-short"], HEAD)
    assert gate.alert_window(deployment, SOAK, NOW) == timedelta(minutes=20)


@pytest.mark.fast
def test_the_status_links_to_the_dashboard_from_the_start_of_the_soak() -> None:
    deployment = gate.deployment_of(APPLICATIONS["healthy-short"], HEAD)
    url = gate.dashboard_url(DASHBOARD, "payments", deployment.deployed_at)
    assert url == "https://grafana.example.com/d/imaas-payments-wso2mi?from=1772451600000&to=now"
    verdict = gate.soak_verdict(deployment, HEAD, "test", SOAK, NOW, [], url)
    assert verdict.body("prod") == {
        "state": PENDING,
        "context": "imaas/promotion-gate/prod",
        "description": verdict.description,
        "target_url": url,
    }
    assert len(Verdict(FAILURE, "x" * 300).body("prod")["description"]) == 140


REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/order-sync"
BAD, GOOD = "b" * 40, "a" * 40
BASE = f"images:\n  - name: wso2mi-service\n    newName: {REGISTRY}\n    newTag: {BAD}\n"
OVERLAY = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../base\n"
BLOCK = f"{gate.ROLLBACK_BEGIN}\nimages:\n  - name: {REGISTRY}:{BAD}\n    newTag: {GOOD}\n{gate.ROLLBACK_END}\n"


def rollback(**changes: Any) -> RollbackChange:
    fields: dict[str, Any] = {
        "head": "c" * 40,
        "changed_files": ["deploy/overlays/prod/kustomization.yaml"],
        "behind_base": 0,
        "overlay_before": OVERLAY,
        "overlay_after": OVERLAY + BLOCK,
        "base_after": BASE,
        "target_in_branch": True,
    }
    return RollbackChange(**{**fields, **changes})


@pytest.mark.fast
def test_a_rollback_to_an_image_the_branch_held_before_is_accepted() -> None:
    assert gate.rollback_verdict(rollback(), "prod") == Verdict(
        SUCCESS, f"rollback of prod to {GOOD[:12]}, promoted there before"
    )


@pytest.mark.fast
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            {"changed_files": ["deploy/overlays/prod/kustomization.yaml", "src/main/wso2mi/artifacts/apis/A.xml"]},
            "changes deploy/overlays/prod/kustomization.yaml, src/main/wso2mi/artifacts/apis/A.xml, not only",
        ),
        ({"behind_base": 2}, "2 commit(s) of prod missing"),
        ({"overlay_after": OVERLAY.replace("../../base", "../../other") + BLOCK}, "outside its rollback block"),
        ({"overlay_after": OVERLAY}, "has no rollback block"),
        ({"base_after": BASE.replace(BAD, "d" * 40)}, "which prod does not run"),
        ({"target_in_branch": False}, "was never promoted to prod"),
        ({"target_in_branch": None}, "was never promoted to prod"),
    ],
    ids=["other files", "stale", "more than the block", "no block", "inert block", "forward", "unknown image"],
)
def test_anything_else_into_a_gated_branch_is_refused(change: dict[str, Any], reason: str) -> None:
    verdict = gate.rollback_verdict(rollback(**change), "prod")
    assert verdict.state == FAILURE
    assert verdict.description.startswith("not a promotion from the branch below nor a rollback: ")
    assert reason in verdict.description


@pytest.mark.fast
def test_the_kustomization_readers_take_what_the_template_writes() -> None:
    assert gate.base_image(BASE) == f"{REGISTRY}:{BAD}"
    assert gate.rollback_block(OVERLAY + BLOCK) == (f"{REGISTRY}:{BAD}", f"{REGISTRY}:{GOOD}")


class FakeGitHub:
    def __init__(self, files: dict[tuple[str, str], str], compares: dict[str, dict[str, Any]]) -> None:
        self.files, self.compares = files, compares
        self.statuses: list[tuple[str, dict[str, Any]]] = []
        self.pulls: list[dict[str, Any]] = []
        self.reads: list[str] = []

    def call(self, method: str, path: str, body: Any = None) -> Any:
        self.reads.append(path)
        if method == "POST":
            self.statuses.append((path, body))
            return {}
        if path.startswith("/search/issues?"):
            assert "base%3Aprod" in path and "org%3Aexample-org" in path and "is%3Aopen" in path, path
            repository = "https://api.github.com/repos/example-org/payments-order-sync"
            return {"items": [{"number": pull["number"], "repository_url": repository} for pull in self.pulls]}
        if "/pulls/" in path:
            number = int(path.rsplit("/", 1)[1])
            return next(pull for pull in self.pulls if pull["number"] == number)
        return self.compares[path.rsplit("/", 1)[1]]

    def file(self, repo: str, path: str, ref: str) -> str:
        return self.files[(path, ref)]


class FakeKubernetes:
    def __init__(self, applications: list[dict[str, Any]]) -> None:
        self.items = applications

    def applications(self, namespace: str) -> list[dict[str, Any]]:
        assert namespace == "argocd"
        return self.items


CONFIG = {
    "argocdNamespace": "argocd",
    "soakSeconds": {"dev": 900, "test": 3600},
    "prometheus": ["http://prometheus"],
    "dashboardUrl": DASHBOARD,
}


def run_gate(github: FakeGitHub, monkeypatch: pytest.MonkeyPatch, alerts: str = "quiet") -> gate.Gate:
    monkeypatch.setattr(gate, "fired", lambda *args: firing(alerts))
    loop = gate.Gate(CONFIG, github, FakeKubernetes([APPLICATIONS["healthy-soaked"]]))  # type: ignore[arg-type]
    loop.run_once(NOW)
    return loop


@pytest.mark.fast
def test_the_loop_posts_the_verdict_on_the_promoted_commit_once(monkeypatch: pytest.MonkeyPatch) -> None:
    github = FakeGitHub({}, {})
    github.pulls = [PULL]
    loop = run_gate(github, monkeypatch)
    ((path, body),) = github.statuses
    assert path == f"/repos/example-org/payments-order-sync/statuses/{HEAD}"
    assert body["state"] == SUCCESS and body["context"] == "imaas/promotion-gate/prod"
    assert body["target_url"].startswith("https://grafana.example.com/d/imaas-payments-wso2mi?from=")
    loop.run_once(NOW)
    assert len(github.statuses) == 1, "an unchanged verdict is not posted again"


@pytest.mark.fast
def test_the_loop_judges_a_pull_request_from_another_branch_as_a_rollback(monkeypatch: pytest.MonkeyPatch) -> None:
    head, base = "c" * 40, PULL["base"]["sha"]
    pull = copy.deepcopy(PULL)
    pull["head"].update(ref="imaas-rollback/prod", sha=head)
    files = {
        ("deploy/overlays/prod/kustomization.yaml", head): OVERLAY + BLOCK,
        ("deploy/overlays/prod/kustomization.yaml", base): OVERLAY,
        ("deploy/base/kustomization.yaml", head): BASE,
    }
    compares = {
        f"{base}...{head}": {"behind_by": 0, "files": [{"filename": "deploy/overlays/prod/kustomization.yaml"}]},
        f"{GOOD}...{base}": {"status": "ahead"},
    }
    github = FakeGitHub(files, compares)
    github.pulls = [pull]
    run_gate(github, monkeypatch, alerts="error-ratio-fired")
    ((path, body),) = github.statuses
    assert path.endswith(f"/statuses/{head}")
    assert (body["state"], body["description"]) == (SUCCESS, f"rollback of prod to {GOOD[:12]}, promoted there before")


@pytest.mark.fast
def test_the_program_uses_the_standard_library_only() -> None:
    tree = ast.parse(Path(gate.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert imported - {"__future__"} <= {
        "base64", "hashlib", "json", "os", "re", "ssl", "sys", "time", "urllib", "dataclasses", "datetime",
        "pathlib", "typing",
    }  # fmt: skip


@pytest.mark.slow
def test_the_app_jwt_is_an_rs256_signature_openssl_verifies(tmp_path: Path) -> None:
    for form, command in (("pkcs1", ["-traditional"]), ("pkcs8", [])):
        key = tmp_path / f"{form}.pem"
        subprocess.run(
            ["openssl", "genrsa", *command, "-out", str(key), "2048"],
            check=True,
            capture_output=True,
            timeout=WAIT_SECONDS,
        )
        pem = key.read_text()
        assert ("BEGIN RSA PRIVATE KEY" in pem) == (form == "pkcs1")
        token = gate.app_jwt(42, gate.private_key(pem), 1_700_000_000)
        header, claims, signature = token.split(".")
        assert json.loads(gate.base64.urlsafe_b64decode(claims + "==")) == {
            "iat": 1_699_999_940,
            "exp": 1_700_000_540,
            "iss": "42",
        }
        (tmp_path / "signed").write_bytes(f"{header}.{claims}".encode())
        (tmp_path / "signature").write_bytes(gate.base64.urlsafe_b64decode(signature + "=="))
        subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-out", str(tmp_path / "public.pem")],
                       check=True, capture_output=True, timeout=WAIT_SECONDS)  # fmt: skip
        verified = subprocess.run(
            ["openssl", "dgst", "-sha256", "-verify", str(tmp_path / "public.pem"), "-signature",
             str(tmp_path / "signature"), str(tmp_path / "signed")],
            capture_output=True, text=True, timeout=WAIT_SECONDS, check=False,
        )  # fmt: skip
        assert verified.stdout.strip() == "Verified OK", verified.stderr


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:example-org/payments-order-sync.git",
        "ssh://git@github.com/example-org/payments-order-sync",
        "https://github.com/example-org/payments-order-sync.git",
    ],
)
@pytest.mark.fast
def test_the_repository_is_read_from_any_clone_url_form(url: str) -> None:
    assert gate.repository_of(url) == "example-org/payments-order-sync"


@pytest.mark.slow
def test_the_gate_finds_the_repository_of_every_application_the_plan_gates(stack: str) -> None:
    """What the gate reads is what the platform gives Argo CD: the Applications' own repository URLs."""
    from planning import example_plan, of_type

    gated = [
        app.inputs
        for app in of_type(example_plan(stack), "kubernetes:argoproj.io/v1alpha1:Application")
        if gate.PROMOTES_TO_LABEL in app.inputs["metadata"].get("labels", {})
    ]
    for application in gated:
        labels = application["metadata"]["labels"]
        expected = f"example-org/{labels['imaas.io/tenant']}-{labels['imaas.io/service']}"
        assert gate.repository_of(application["spec"]["source"]["repoURL"]) == expected
    assert gated or stack == "prod", "the dev cluster gates dev into test and test into prod"


@pytest.mark.fast
def test_one_search_per_branch_and_round_finds_the_pull_requests_of_every_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """However many services are gated, GitHub is searched once per branch and round, and only the repositories
    with an open pull request are read further: a request per repository each round would pass an installation's
    rate limit at a few hundred services."""
    monkeypatch.setattr(gate, "fired", lambda *args: firing("quiet"))
    github = FakeGitHub({}, {})
    github.pulls = [PULL]
    others = []
    for index in range(50):
        other = copy.deepcopy(APPLICATIONS["healthy-soaked"])
        other["spec"]["source"]["repoURL"] = f"git@github.com:example-org/other-service-{index}.git"
        others.append(other)
    loop = gate.Gate(CONFIG, github, FakeKubernetes([*others, APPLICATIONS["healthy-soaked"]]))  # type: ignore[arg-type]
    loop.run_once(NOW)
    assert len([path for path in github.reads if path.startswith("/search/issues?")]) == 1
    assert not [path for path in github.reads if "other-service" in path]
    assert [path for path, _ in github.statuses] == [f"/repos/example-org/payments-order-sync/statuses/{HEAD}"]
