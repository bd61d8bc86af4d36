"""The stack settings the admission fences depend on: refused when missing or malformed, by `validate --stack`, and
Argo CD impersonation required wherever the stack does not install Argo CD itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import CLUSTER_VALUES, write_tenants
from typer.testing import CliRunner

from imaas import cli

pytestmark = pytest.mark.fast

runner = CliRunner()


def validate_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **settings: object) -> tuple[int, str]:
    """`validate --stack dev` with a stack file of the cluster settings updated by `settings` (None drops one)."""
    values = {**CLUSTER_VALUES, **settings}
    lines = "".join(f"  imaas:{key}: {value!r}\n".replace("True", "true").replace("False", "false")
                    for key, value in values.items() if value is not None)  # fmt: skip
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  aws:region: eu-west-1\n  github:owner: example-org\n  imaas:environments: [dev, test, prod]\n"
        f"  imaas:ownsGlobalResources: true\n{lines}"
    )
    monkeypatch.setattr(cli.output, "PROJECT_DIR", tmp_path)
    tenants = write_tenants(tmp_path / "tenants", alpha={})
    result = runner.invoke(cli.app, ["validate", "--tenants", str(tenants), "--stack", "dev"])
    return result.exit_code, result.output


def test_the_cluster_settings_make_a_valid_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = validate_stack(tmp_path, monkeypatch)
    assert code == 0, output


def test_a_stack_whose_argo_cd_does_not_impersonate_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for value in (None, False):
        code, output = validate_stack(tmp_path, monkeypatch, argocdImpersonation=value)
        assert code == 1
        assert "argocdImpersonation: the cluster's Argo CD must sync with impersonation on" in output


def test_a_stack_installing_argo_cd_needs_no_word_on_impersonation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The platform's own Argo CD has impersonation on (imaas/declarations/chart_values.py, argocd_values).
    code, output = validate_stack(
        tmp_path,
        monkeypatch,
        argocdImpersonation=None,
        preinstalled=None,
    )
    assert code == 0, output


def test_impersonation_of_an_argo_cd_the_stack_would_install_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stack file of the time before `preinstalled` that said only argocdImpersonation: its cluster runs Argo CD.
    code, output = validate_stack(tmp_path, monkeypatch, preinstalled=None)
    assert code == 1
    assert "argocdImpersonation: says the cluster runs its own Argo CD, which imaas:preinstalled does not list" in (
        output
    )


@pytest.mark.parametrize("count", [0, 21, "many", True, 2.5])
def test_a_collector_replica_count_the_traces_cannot_run_on_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count: object
) -> None:
    values = {"opentelemetryCollector": {"replicaCount": count}}
    code, output = validate_stack(tmp_path, monkeypatch, chartValues=values)
    assert code == 1, output
    assert "opentelemetryCollector.replicaCount must be a whole number from 1 to 20" in output


def test_a_collector_replica_count_within_bounds_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = validate_stack(tmp_path, monkeypatch, chartValues={"opentelemetryCollector": {"replicaCount": 4}})
    assert code == 0, output


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("ingressHostSuffix", None, "imaas:ingressHostSuffix: is required"),
        ("ecrRegistry", None, "imaas:ecrRegistry: is required"),
        ("ingressHostSuffix", "Apps.Example.com", "imaas:ingressHostSuffix: must match"),
        ("ecrRegistry", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders", "imaas:ecrRegistry: must match"),
        ("imageAllowList", ["docker.io/library/busybox"], "imaas:imageAllowList[0]: must match"),
        ("platformIdentities", ["system:serviceaccount:orders-dev:argocd-deployer"], "not a tenant's deployer"),
    ],
)
def test_malformed_cluster_settings_are_refused_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: object, message: str
) -> None:
    code, output = validate_stack(tmp_path, monkeypatch, **{key: value})
    assert code == 1
    assert message in output


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        (
            "observability",
            {"proxyImage": "docker.io/nginxinc/nginx-unprivileged:1.31-alpine"},
            "imaas:observability.proxyImage: was removed: the platform pins it (imaas/declarations/images.py, "
            "STORE_PROXY_IMAGE); delete this setting",
        ),
        (
            "observabilityLimits",
            {"small": {"logRateMb": 2}},
            "imaas:observabilityLimits: was removed: the platform pins it",
        ),
        ("promotion", {"intervalSeconds": 30}, "imaas:promotion.intervalSeconds: was removed"),
        (
            "observability",
            {"loki": {"version": "18.11.0"}},
            "imaas:observability.loki.version: moved to imaas:chartVersions.loki",
        ),
        ("metricsServer", {"values": {}}, "imaas:metricsServer.values: moved to imaas:chartValues.metricsServer"),
        ("argocdPreinstalled", True, "imaas:argocdPreinstalled: moved to imaas:preinstalled: list argocd there"),
        (
            "observability",
            {"tempo": {"storage": {"s3Bucket": "traces"}}},
            "imaas:observability.tempo.storage.s3Bucket: moved to imaas:observability.tempo.bucket.name",
        ),
    ],
)
def test_a_removed_setting_is_refused_in_one_line_saying_what_replaced_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, value: object, line: str
) -> None:
    code, output = validate_stack(tmp_path, monkeypatch, **{key: value})
    assert code == 1
    [problem] = [text for text in output.splitlines() if line in text]
    assert problem.startswith(f"{tmp_path / 'Pulumi.dev.yaml'}:10:")  # the file and the key's line
    assert line in problem
    assert "Traceback" not in output
