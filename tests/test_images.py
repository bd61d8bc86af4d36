"""The registry mirror (`imaas:imageMirror`, an ECR pull-through cache): set, every image the platform runs comes
through it (every image of every chart, the tenants' Prometheus, the Grafana job and the metrics proxy); the image
table covers every image block each chart defines; a mirror missing a registry is refused."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from planning import of_type, plan_stack
from tokens import PROMETHEUS, RELEASE

from imaas.declarations import charts, images
from imaas.inputs.problems import InputError
from imaas.model.settings import PLATFORM_IMAGE_REGISTRIES

DATA = Path(__file__).resolve().parent / "data" / "charts"
ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
MIRROR = {
    "docker.io": f"{ECR}/docker-hub",
    "quay.io": f"{ECR}/quay",
    "registry.k8s.io": f"{ECR}/k8s",
    "ghcr.io": f"{ECR}/github",
    "ecr-public.aws.com": f"{ECR}/ecr-public",
    # Not an upstream ECR's pull-through cache supports: Docker Hub has the same images (fluent/fluent-bit).
    "cr.fluentbit.io": f"{ECR}/docker-hub",
}
SUBCHART_DATA = {"grafana": "grafana", "kube-state-metrics": "kube-state-metrics"}
SUBCHART_DATA["prometheus-node-exporter"] = "prometheus-node-exporter"
WORKLOAD_TYPES = ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:CronJob", "kubernetes:batch/v1:Job")


def image_blocks(keys: Any, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every image block of a chart's key tree: a mapping with a repository and a tag, registry or digest."""
    found = set()
    if isinstance(keys, dict):
        if "repository" in keys and {"tag", "registry", "digest"} & set(keys):
            found.add(path)
        for key, value in keys.items():
            found |= image_blocks(value, (*path, key))
    return found


def chart_blocks(chart: str) -> set[tuple[str, ...]]:
    data = json.loads((DATA / f"{chart}.json").read_text())
    blocks = image_blocks(data["keys"])
    if chart == charts.KUBE_PROMETHEUS_STACK.name:
        for key, subchart in SUBCHART_DATA.items():
            sub = json.loads((DATA / f"{subchart}.json").read_text())
            blocks |= {(key, *block) for block in image_blocks(sub["keys"])}
    return blocks


@pytest.mark.fast
@pytest.mark.parametrize("chart", sorted(chart.name for chart in charts.CHARTS))
def test_the_image_table_covers_every_image_block_of_each_chart(chart: str) -> None:
    table = {image.path for image in images.CHART_IMAGES[chart]}
    inheriting = set(images.INHERITING.get(chart, {}))
    assert table.isdisjoint(inheriting)
    assert table | inheriting == chart_blocks(chart)
    # What an inheriting block takes is in the table.
    assert set(images.INHERITING.get(chart, {}).values()) <= table


@pytest.mark.fast
def test_the_settings_know_every_registry_of_the_image_table() -> None:
    assert images.platform_registries() == PLATFORM_IMAGE_REGISTRIES


@cache
def mirrored_plan(stack: str) -> Any:
    return plan_stack(stack, imageMirror=MIRROR, preinstalled=None, argocdImpersonation=None)


def at(values: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node: Any = values
    for segment in path:
        node = node[segment]
    return node


def through_the_mirror(reference: str) -> bool:
    return any(reference.startswith(prefix + "/") for prefix in MIRROR.values())


@pytest.mark.slow
def test_every_chart_image_comes_through_the_mirror(stack: str) -> None:
    releases = {r.inputs["chart"]: r.inputs["values"] for r in of_type(mirrored_plan(stack), RELEASE)}
    assert set(releases) == {chart.name for chart in charts.CHARTS}
    for chart, values in releases.items():
        for image in images.CHART_IMAGES[chart]:
            block = at(values, image.path)
            # As the chart builds the name: registry and repository joined, or the repository alone.
            name = f"{block['registry']}/{block['repository']}" if image.style == "registry" else block["repository"]
            assert through_the_mirror(name), (chart, image.path, name)
            registry, repository, _ = images.split_reference(image.reference)
            assert name == f"{MIRROR[registry]}/{repository}"


@pytest.mark.slow
def test_every_image_the_program_declares_comes_through_the_mirror(stack: str) -> None:
    plan = mirrored_plan(stack)
    containers = [
        container
        for resource in plan.resources
        if resource.type in WORKLOAD_TYPES
        for container in _containers(resource.inputs["spec"])
    ]
    assert containers, "the metrics proxy and the Grafana job"
    for container in containers:
        assert through_the_mirror(container["image"]), container["image"]
    (prometheus,) = of_type(plan, PROMETHEUS)
    assert prometheus.inputs["spec"]["image"] == f"{ECR}/quay/prometheus/prometheus:{images.TENANT_PROMETHEUS_VERSION}"
    assert prometheus.inputs["spec"]["version"] == images.TENANT_PROMETHEUS_VERSION


def _image_strings(node: Any) -> list[str]:
    """Every `image` given as one reference anywhere in a release's values: the containers the platform adds to a
    chart's pods (sidecars, Alertmanager's proxy), which the chart's image table does not cover."""
    if isinstance(node, dict):
        own = [node["image"]] if isinstance(node.get("image"), str) else []
        return own + [image for value in node.values() for image in _image_strings(value)]
    if isinstance(node, list):
        return [image for value in node for image in _image_strings(value)]
    return []


@pytest.mark.slow
def test_every_container_the_platform_adds_to_a_chart_comes_through_the_mirror(stack: str) -> None:
    added = {
        release.name: _image_strings(release.inputs["values"]) for release in of_type(mirrored_plan(stack), RELEASE)
    }
    # Tempo's and Alertmanager's proxies, and the collector's routes reloader.
    assert {name for name, found in added.items() if found} >= {
        "tempo",
        "kube-prometheus-stack",
        "opentelemetry-collector",
    }
    for name, found in added.items():
        for image in found:
            assert through_the_mirror(image), (name, image)


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    template = spec.get("jobTemplate", {}).get("spec", spec).get("template", {})
    pod = template.get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


@pytest.mark.slow
def test_without_a_mirror_nothing_is_rewritten(stack: str) -> None:
    plan = plan_stack(stack)
    kps = next(r.inputs["values"] for r in of_type(plan, RELEASE) if r.inputs["chart"] == "kube-prometheus-stack")
    assert "prometheusOperator" not in kps and "image" not in kps["prometheus"]["prometheusSpec"]
    (prometheus,) = of_type(plan, PROMETHEUS)
    assert "image" not in prometheus.inputs["spec"]


@pytest.mark.slow
def test_a_mirror_missing_a_registry_is_refused_naming_it() -> None:
    partial = {key: value for key, value in MIRROR.items() if key not in ("quay.io", "ghcr.io")}
    with pytest.raises(Exception) as raised:
        plan_stack("dev", imageMirror=partial)
    assert isinstance(raised.value, InputError) or "imageMirror" in str(raised.value)
    assert "imageMirror names no mirror for ghcr.io, quay.io" in str(raised.value)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("busybox", f"{ECR}/docker-hub/library/busybox"),
        ("docker.io/library/python:3.13.13-slim", f"{ECR}/docker-hub/library/python:3.13.13-slim"),
        (
            "quay.io/prometheuscommunity/prom-label-proxy:v0.14.0",
            f"{ECR}/quay/prometheuscommunity/prom-label-proxy:v0.14.0",
        ),
        ("grafana/tempo-query", f"{ECR}/docker-hub/grafana/tempo-query"),
    ],
)
@pytest.mark.fast
def test_references_are_mirrored_as_runtimes_read_them(reference: str, expected: str) -> None:
    assert images.mirrored(reference, MIRROR) == expected


@pytest.mark.slow
def test_the_mirrored_values_are_keys_each_chart_defines(stack: str) -> None:
    from test_chart_values import unknown_paths

    for release in of_type(mirrored_plan(stack), RELEASE):
        assert unknown_paths(release.inputs["chart"], release.inputs["values"]) == [], release.inputs["chart"]
