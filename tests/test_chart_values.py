"""Every value the program passes to a chart is a key that chart defines: Helm ignores an unknown key silently, so a
misspelt or moved key would otherwise do nothing until someone notices on a cluster. The charts' key trees are in
tests/data/charts (see its README), each recorded with the chart version it was taken from."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from planning import of_type, plan_stack
from tokens import RELEASE

from imaas.declarations import charts
from imaas.model.settings import ChartName

DATA = Path(__file__).resolve().parent / "data" / "charts"
Path_ = tuple[str, ...]
# Values under these keys go to a subchart, whose own key data is checked too (kube-prometheus-stack's own templates
# also read some grafana.* keys, which its data lists under keys.grafana).
SUBCHARTS = {
    "kube-prometheus-stack": {
        "grafana": "grafana",
        "kube-state-metrics": "kube-state-metrics",
        "prometheus-node-exporter": "prometheus-node-exporter",
    }
}


@cache
def chart_data(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def leaf_paths(values: Any, path: Path_ = ()) -> Iterator[Path_]:
    """Every path to a value that is not a non-empty mapping."""
    if isinstance(values, Mapping) and values:
        for key, value in values.items():
            yield from leaf_paths(value, (*path, key))
    else:
        yield path


def defined(path: Path_, data: dict[str, Any]) -> bool:
    """Whether the chart reads `path`: under a free-form or template-only key, below a leaf of its key tree, or
    found segment by segment."""
    if path[:1] == ("global",):
        return True  # Helm's own, shared with every subchart
    if any(path[: len(prefix)] == tuple(prefix) for prefix in [*data["freeForm"], *data["templateOnly"]]):
        return True
    node: Any = data["keys"]
    for segment in path:
        if not (isinstance(node, dict) and node):
            return True  # below a leaf (`resources: {}`, a list, a scalar): the template's business
        if segment not in node:
            return False
        node = node[segment]
    return True


def unknown_paths(chart: str, values: Mapping[str, Any]) -> list[Path_]:
    data = chart_data(chart)
    subcharts = SUBCHARTS.get(chart, {})
    unknown = []
    for path in leaf_paths(values):
        if defined(path, data):
            continue
        subchart = subcharts.get(path[0]) if path else None
        if subchart is None or not defined(path[1:], chart_data(subchart)):
            unknown.append(path)
    return unknown


@cache
def releases(stack: str) -> dict[str, dict[str, Any]]:
    """The inputs of every release of `stack`, with everything that installs one switched on."""
    # The shipped stacks say the cluster has Argo CD; one stack does not both install it and say so.
    plan = plan_stack(stack, observability={"enabled": True}, preinstalled=None, argocdImpersonation=None)
    return {resource.inputs["chart"]: resource.inputs for resource in of_type(plan, RELEASE)}


@pytest.mark.slow
def test_every_chart_the_program_installs_has_key_data() -> None:
    installed = set(releases("dev")) | set(releases("prod"))
    assert installed == {chart.name for chart in charts.CHARTS}
    assert all((DATA / f"{chart}.json").is_file() for chart in installed)


@pytest.mark.slow
@pytest.mark.parametrize("chart", sorted(chart.name for chart in charts.CHARTS))
def test_every_value_passed_to_a_chart_is_a_key_it_defines(stack: str, chart: str) -> None:
    values = releases(stack)[chart]["values"]
    assert unknown_paths(chart, values) == []


@pytest.mark.fast
def null_paths(values: Any, path: Path_ = ()) -> Iterator[Path_]:
    if values is None:
        yield path
    elif isinstance(values, Mapping):
        for key, value in values.items():
            yield from null_paths(value, (*path, str(key)))
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from null_paths(value, (*path, str(index)))


@pytest.mark.slow
@pytest.mark.parametrize("chart", sorted(chart.name for chart in charts.CHARTS))
def test_no_value_passed_to_a_chart_is_null(stack: str, chart: str) -> None:
    """Helm deletes a default whose value is null, but pulumi-kubernetes does not support passing null values from
    Python (its Release and Chart docs): a default the platform does not want is removed another way (for the
    collector, the chart's `alternateConfig`, which replaces its default configuration)."""
    assert list(null_paths(releases(stack)[chart]["values"])) == []


@pytest.mark.fast
def test_a_null_value_is_found() -> None:
    assert list(null_paths({"config": {"receivers": {"jaeger": None}, "pipelines": [None]}})) == [
        ("config", "receivers", "jaeger"),
        ("config", "pipelines", "0"),
    ]


@pytest.mark.fast
def test_a_misspelt_or_moved_key_is_reported() -> None:
    loki = {"singleBinary": {"replicas": 1, "persistance": {"whenDeleted": "Retain"}}, "loki": {"auth_enabled": True}}
    assert unknown_paths("loki", loki) == [("singleBinary", "persistance", "whenDeleted")]
    kps = {
        "prometheus": {"prometheusSpec": {"ignoreNamespaceSelector": True}},
        "grafana": {"sidecar": {"dashboards": {"folderAnnotation": "x", "folderAnotation": "x"}}},
    }
    assert unknown_paths("kube-prometheus-stack", kps) == [
        ("prometheus", "prometheusSpec", "ignoreNamespaceSelector"),
        ("grafana", "sidecar", "dashboards", "folderAnotation"),
    ]
    # Tempo's multitenancy switch is a chart key (its config template reads it), not Tempo's own spelling.
    assert unknown_paths("tempo", {"tempo": {"multitenancy_enabled": True}}) == [("tempo", "multitenancy_enabled")]
    assert unknown_paths("tempo", {"tempo": {"per_tenant_overrides": {"any": {"ingestion": {}}}}}) == []
    # The collector's configuration is passed through; the chart's own keys are checked.
    collector = {"config": {"processors": {"anything": {}}}, "clusterRole": {"craete": True}}
    assert unknown_paths("opentelemetry-collector", collector) == [("clusterRole", "craete")]


def pinned_versions() -> dict[str, str]:
    return {chart.name: chart.version for chart in charts.CHARTS}


@pytest.mark.fast
@pytest.mark.parametrize("chart", sorted(chart.name for chart in charts.CHARTS))
def test_each_charts_data_is_of_its_pinned_version_or_says_which_nearest_one(chart: str) -> None:
    data, pinned = chart_data(chart), pinned_versions()[chart]
    assert data["chart"] == chart
    assert data["pinnedVersion"] == pinned
    if data["version"] != pinned:
        note = data["source"]["note"]
        assert f"Pinned version {pinned}" in note and f"nearest available {data['version']}" in note, note


@pytest.mark.fast
def test_the_subchart_data_is_of_the_version_its_parent_pins() -> None:
    grafana = chart_data("grafana")
    assert grafana["version"] == grafana["pinnedVersion"]
    assert grafana["version"] in chart_data("kube-prometheus-stack")["subcharts"]["grafana"]


@pytest.mark.fast
def test_the_crd_release_carries_the_operator_version_kube_prometheus_stack_runs() -> None:
    crds, stack = chart_data(charts.PROMETHEUS_OPERATOR_CRDS.name), chart_data(charts.KUBE_PROMETHEUS_STACK.name)
    assert crds["appVersion"] == stack["appVersion"]


@pytest.mark.fast
def test_every_chart_is_a_key_of_the_chart_settings() -> None:
    # imaas:chartVersions and imaas:chartValues take exactly the platform's charts, each by its own key.
    assert sorted(chart.setting for chart in charts.CHARTS) == sorted(typing.get_args(ChartName))
