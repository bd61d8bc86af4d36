"""Guardrails on telemetry: traces are filed under the tenant of the namespace that sent them, and alert routes
hold to the namespace they are declared in, whatever the collector's or the charts' values were changed to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from imaas.declarations import charts, naming, traces, types
from imaas.declarations.telemetry import TEMPO_TENANT_HEADER
from imaas.guardrails.framework import Context, Index, Resource

ALERTMANAGER_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:AlertmanagerConfig"
# The routing conditions the platform writes (imaas/declarations/traces.py): one clause per namespace, or-ed.
_CLAUSE = re.compile(r'^attributes\["k8s\.namespace\.name"\] == "([a-z0-9-]+)"$')


def _release(index: Index, chart: charts.Chart) -> Resource | None:
    return next((r for r in index(types.HELM_RELEASE) if r.inputs.get("chart") == chart.name), None)


def _collector_problems(config: dict[str, Any], owners: dict[str, str]) -> Iterator[str]:
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    processors = (pipelines.get(traces.INGEST_PIPELINE) or {}).get("processors") or []
    k8s = (config.get("processors") or {}).get("k8s_attributes") or {}
    before_lookup = processors[: processors.index("k8s_attributes")] if "k8s_attributes" in processors else []

    def forgets(name: str) -> bool:
        actions = ((config.get("processors") or {}).get(name) or {}).get("attributes") or []
        return name.startswith("resource/") and any(
            action.get("action") == "delete" and re.match(action.get("pattern", "$^"), "k8s.namespace.name")
            for action in actions
        )

    if not any(map(forgets, before_lookup)):
        yield "does not delete the k8s.namespace.name a pod sends before k8s_attributes, which keeps it"
    if k8s.get("pod_association") != [{"sources": [{"from": "connection"}]}]:
        yield "finds a sender's pod by something else than its connection"
    router = (config.get("connectors") or {}).get(traces.ROUTER) or {}
    if router.get("default_pipelines"):
        yield "routes spans of no tenant namespace to a default pipeline"
    exporters = config.get("exporters") or {}
    for route in router.get("table") or []:
        clauses = [_CLAUSE.match(clause) for clause in str(route.get("condition", "")).split(" or ")]
        tenants = {owners.get(m.group(1)) if m else None for m in clauses}
        ids = {
            (exporters.get(exporter) or {}).get("headers", {}).get(TEMPO_TENANT_HEADER)
            for pipeline in route.get("pipelines") or []
            for exporter in (pipelines.get(pipeline) or {}).get("exporters") or []
        }
        if None in tenants or len(tenants) != 1 or ids != tenants:
            yield f"routes {route.get('condition')!r} to tenant ids {sorted(map(str, ids))}, not one tenant's own"


def telemetry_per_tenant(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    owners = {namespace: tenant.name for namespace, (tenant, _) in context.namespace_owners().items()}
    collector = _release(index, charts.OPENTELEMETRY_COLLECTOR)
    if collector is not None:
        collector_values = collector.inputs.get("values") or {}
        # The chart runs `alternateConfig` when it is set, and `config` merged over its defaults otherwise.
        config = collector_values.get("alternateConfig") or collector_values.get("config") or {}
        for problem in _collector_problems(config, owners):
            yield collector, problem
    stack = _release(index, charts.KUBE_PROMETHEUS_STACK)
    if stack is not None:
        spec = ((stack.inputs.get("values") or {}).get("alertmanager") or {}).get("alertmanagerSpec") or {}
        strategy = (spec.get("alertmanagerConfigMatcherStrategy") or {}).get("type", "OnNamespace")
        if strategy != "OnNamespace":
            yield stack, f"alertmanagerConfigMatcherStrategy {strategy}: a route may take another namespace's alerts"
    for config in index(ALERTMANAGER_CONFIG):
        if config.namespace not in owners or config.labels.get(naming.TENANT_LABEL) != owners[config.namespace]:
            yield config, "an AlertmanagerConfig outside its tenant's namespaces"
