"""The storage class of every volume the platform declares (`imaas:storageClass`): the claims it writes itself, and
chart by chart the values key through which a chart names the class of the claims it renders.

Unset, no claim names a class and the cluster's default class provisions it: `imaas preflight` checks that there
is one (EKS from 1.30 on has none unless one is added)."""

from __future__ import annotations

from typing import Any

from imaas.declarations import charts
from imaas.declarations.charts import Chart

ClassKey = tuple[str, ...]

# Read from each chart's values.yaml and templates at its pinned version (tests/data/charts): the key a template
# renders as `storageClassName` of the chart's volume claim.
CHART_CLASS_KEYS: dict[str, tuple[ClassKey, ...]] = {
    # loki (grafana-community) 18.x, monolithic mode: the single binary's StatefulSet claim template.
    charts.LOKI.name: (("singleBinary", "persistence", "storageClass"),),
    # tempo (grafana-community) 2.2.4: the StatefulSet's claim template (`storageClassName`, read by the template
    # though values.yaml does not list it).
    charts.TEMPO.name: (("persistence", "storageClassName"),),
    # kube-prometheus-stack 86.3.2: Grafana's PVC (the grafana 12.4.8 subchart, persistence.type pvc). The platform's
    # own Prometheus and Alertmanager keep their data in emptyDir (no storageSpec, no alertmanagerSpec.storage): no
    # claim, so no class.
    charts.KUBE_PROMETHEUS_STACK.name: (("grafana", "persistence", "storageClassName"),),
}
"""For every chart the platform installs with a persistent volume, where its values name the volume's class. Charts
absent here (prometheus-operator-crds, fluent-bit, opentelemetry-collector, argo-cd, metrics-server) claim none."""


def claim_spec(storage_class: str | None) -> dict[str, str]:
    """What a claim (or claim template) the platform writes itself adds to its `spec`."""
    return {"storageClassName": storage_class} if storage_class else {}


def with_storage_class(chart: Chart, values: dict[str, Any], storage_class: str | None) -> dict[str, Any]:
    """`values` of `chart` with its volumes' class set, when the stack names one."""
    if not storage_class:
        return values
    result = values
    for key in CHART_CLASS_KEYS.get(chart.name, ()):
        nested: dict[str, Any] = {key[-1]: storage_class}
        for segment in reversed(key[:-1]):
            nested = {segment: nested}
        result = charts.merged(result, nested)
    return result
