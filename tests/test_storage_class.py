"""`imaas:storageClass`: every volume the platform declares names the class, its own claims and, chart by chart, the
charts' (imaas/declarations/storage.py); unset, none names one and the cluster's default class provisions them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from planning import plan_stack
from tokens import RELEASE

from imaas.declarations import charts, storage
from imaas.plan.record import Plan

CHART_CLASS_NAMES = ("storageClass", "storageClassName")


def _mappings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Mapping[str, Any]]]:
    if isinstance(value, Mapping):
        yield path, value
        for key, item in value.items():
            yield from _mappings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _mappings(item, (*path, str(index)))


def volumes(plan: Plan) -> Iterator[tuple[str, tuple[str, ...], Mapping[str, Any]]]:
    """Every volume the plan declares, as (resource, path, the mapping that names its class): PersistentVolumeClaims,
    claim templates (a Prometheus's `storage.volumeClaimTemplate`, a StatefulSet's `volumeClaimTemplates`) and, in a
    chart's values, every `persistence` that is not switched off and every `storageSpec`."""
    for resource in plan.resources:
        where = f"{resource.type} {resource.name}"
        if resource.type == "kubernetes:core/v1:PersistentVolumeClaim":
            yield where, ("spec",), resource.inputs["spec"]
        inputs = resource.inputs.get("values", {}) if resource.type == RELEASE else resource.inputs
        for path, mapping in _mappings(inputs):
            key = path[-1] if path else ""
            if key == "volumeClaimTemplate" or path[-2:-1] == ("volumeClaimTemplates",):
                yield where, path, mapping.get("spec", {})
            elif resource.type == RELEASE and key == "persistence" and mapping.get("enabled", True) is not False:
                yield where, path, mapping


def named_class(mapping: Mapping[str, Any]) -> set[str]:
    return {mapping[key] for key in CHART_CLASS_NAMES if key in mapping}


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_volume_names_the_class_when_set(stack: str) -> None:
    plan = plan_stack(stack, storageClass="ebs-gp3", preinstalled=None, argocdImpersonation=None)
    found = list(volumes(plan))
    # Loki's, Tempo's and Grafana's chart volumes and the tenants' Prometheus: each names the class.
    assert len(found) == 4, found
    for where, path, mapping in found:
        assert named_class(mapping) == {"ebs-gp3"}, f"{where} {'.'.join(path)}"


@pytest.mark.fast
def test_each_chart_class_key_is_where_the_chart_keeps_its_volume() -> None:
    """The mapping's keys sit beside the chart's own persistence keys (size or enabled), which the platform sets."""
    values = {
        charts.LOKI.name: {"singleBinary": {"persistence": {"whenDeleted": "Retain"}}},
        charts.TEMPO.name: {"persistence": {"enabled": True, "size": "20Gi"}},
        charts.KUBE_PROMETHEUS_STACK.name: {"grafana": {"persistence": {"enabled": True}}},
    }
    for chart in (charts.LOKI, charts.TEMPO, charts.KUBE_PROMETHEUS_STACK):
        [key] = storage.CHART_CLASS_KEYS[chart.name]
        merged = storage.with_storage_class(chart, values[chart.name], "fast")
        node: Any = merged
        for segment in key[:-1]:
            node = node[segment]
        assert node[key[-1]] == "fast"
        assert len(node) > 1, "beside the keys the platform already sets"
    assert storage.with_storage_class(charts.FLUENT_BIT, {"a": 1}, "fast") == {"a": 1}


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_unset_no_volume_names_a_class(stack: str) -> None:
    plan = plan_stack(stack, storageClass=None)
    found = list(volumes(plan))
    assert len(found) == 4
    assert all(named_class(mapping) == set() for _, _, mapping in found)


@pytest.mark.slow
def test_a_class_that_is_no_kubernetes_name_is_refused() -> None:
    from imaas.inputs.problems import InputError

    with pytest.raises(InputError, match="imaas:storageClass"):
        plan_stack("dev", storageClass="GP3 fast")
