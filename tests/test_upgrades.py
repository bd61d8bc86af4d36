"""Platform upgrades as a reviewer sees them: a chart bump in the stack settings is exactly that release's version
in the offline plan and its diff, and a template change exactly the template's published version."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers import TEMPLATE_DIR
from planning import example_plan, plan_stack
from tokens import LOCAL_COMMAND
from typer.testing import CliRunner

from imaas import cli
from imaas.declarations import charts
from imaas.declarations.types import HELM_RELEASE
from imaas.plan.diff import diff_plans

pytestmark = pytest.mark.slow

runner = CliRunner()


def bumped(version: str) -> str:
    major, minor, patch = version.split(".")
    return f"{major}.{minor}.{int(patch) + 1}"


def test_a_chart_bump_is_exactly_that_releases_version(tmp_path: Path) -> None:
    old = charts.LOKI.version
    head = plan_stack("dev", chartVersions={"loki": bumped(old)})
    changes = diff_plans(example_plan("dev"), head)
    assert [(c.action, c.resource.type, c.resource.name, c.lines()) for c in changes] == [
        ("change", HELM_RELEASE, "loki", [f'~ version: "{old}" -> "{bumped(old)}"'])
    ]
    assert not changes[0].destructive and not changes[0].replacing
    example_plan("dev").write(tmp_path / "base.json")
    head.write(tmp_path / "head.json")
    shown = runner.invoke(cli.app, ["diff", str(tmp_path / "base.json"), str(tmp_path / "head.json")])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("1 changes") and "loki" in shown.output
    assert f'"{old}" -> "{bumped(old)}"' in shown.output


def test_the_prometheus_operator_pair_moves_as_two_releases_and_nothing_else() -> None:
    crds, stack = charts.PROMETHEUS_OPERATOR_CRDS.version, charts.KUBE_PROMETHEUS_STACK.version
    head = plan_stack(
        "dev", chartVersions={"prometheusOperatorCrds": bumped(crds), "kubePrometheusStack": bumped(stack)}
    )
    changes = diff_plans(example_plan("dev"), head)
    assert sorted((c.resource.name, tuple(f.path for f in c.fields)) for c in changes) == [
        ("kube-prometheus-stack", ("version",)),
        ("prometheus-operator-crds", ("version",)),
    ]


def test_a_shard_previews_the_bump_as_the_same_one_change() -> None:
    # A shard is a stack whose tenantSelector picks a few tenants: its cluster's releases move exactly as the
    # whole stack's would, so it previews an upgrade before the stacks that carry everyone else.
    old = charts.FLUENT_BIT.version
    shard = plan_stack("dev", tenantSelector=["orders"])
    head = plan_stack("dev", tenantSelector=["orders"], chartVersions={"fluentBit": bumped(old)})
    changes = diff_plans(shard, head)
    assert [(c.resource.name, [f.path for f in c.fields]) for c in changes] == [("fluent-bit", ["version"])]


def test_a_template_change_is_exactly_its_published_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import components.platform as platform_module

    copy = tmp_path / "service"
    shutil.copytree(TEMPLATE_DIR, copy)
    (copy / "README.md").write_text((copy / "README.md").read_text() + "\nA line more.\n")
    original = platform_module.Platform.__init__

    def with_copy(self, name, args, opts=None):
        from dataclasses import replace

        original(self, name, replace(args, template_dir=copy), opts)

    monkeypatch.setattr(platform_module.Platform, "__init__", with_copy)
    changes = diff_plans(example_plan("dev"), plan_stack("dev"))
    assert [(c.resource.type, [f.path for f in c.fields]) for c in changes] == [
        (LOCAL_COMMAND, ["environment.IMAAS_TEMPLATE_VERSION"])
    ]
