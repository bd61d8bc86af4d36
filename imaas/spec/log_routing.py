"""Fluent Bit's pipeline: container logs tagged per tenant by namespace, each tenant's to its own Loki tenant.

A record is re-tagged `tenant.<name>` only when its namespace is one of that tenant's, listed by name; the record
then reaches exactly one output, the one that sends with that tenant's id. What no rule matches keeps its `kube.*`
tag and goes to the platform's tenant.
"""

from __future__ import annotations

from collections.abc import Iterable

from imaas.spec.store_auth import FLUENT_BIT_PASSWORD_ENV, LOKI_WRITER
from imaas.spec.telemetry import LOKI_GATEWAY_PORT, PLATFORM_LOG_TENANT, Endpoints, TenantTelemetry

CONTAINER_TAG = "kube.*"


def fluent_bit_config(routes: list[TenantTelemetry], endpoints: Endpoints) -> dict[str, str]:
    """The chart's `config` sections: read container logs, learn their namespace, route them, send them."""
    filters = [_kubernetes_metadata()]
    if routes:
        filters.append(_tenant_router(routes))
    outputs = [_loki_output(route.log_tag, route.log_tenant, endpoints) for route in routes]
    outputs.append(_loki_output(CONTAINER_TAG, PLATFORM_LOG_TENANT, endpoints))
    return {"inputs": _container_logs(), "filters": "\n".join(filters), "outputs": "\n".join(outputs)}


def _section(kind: str, entries: Iterable[tuple[str, str]]) -> str:
    return "\n".join([f"[{kind}]", *(f"    {key} {value}" for key, value in entries)]) + "\n"


def _container_logs() -> str:
    return _section(
        "INPUT",
        [
            ("Name", "tail"),
            ("Path", "/var/log/containers/*.log"),
            ("multiline.parser", "docker, cri"),
            ("Tag", CONTAINER_TAG),
            ("Mem_Buf_Limit", "5MB"),
            ("Skip_Long_Lines", "On"),
        ],
    )


def _kubernetes_metadata() -> str:
    return _section(
        "FILTER",
        [
            ("Name", "kubernetes"),
            ("Match", CONTAINER_TAG),
            ("Merge_Log", "On"),
            # Under a key of its own: merged at the top, a tenant's JSON log line could set the `kubernetes` fields
            # that route it, and so land in another tenant's logs.
            ("Merge_Log_Key", "log_processed"),
            ("Keep_Log", "Off"),
            ("K8S-Logging.Parser", "On"),
            ("K8S-Logging.Exclude", "On"),
        ],
    )


def _tenant_router(routes: list[TenantTelemetry]) -> str:
    rules = [
        ("Rule", f"$kubernetes['namespace_name'] {route.namespace_regex} {route.log_tag} false") for route in routes
    ]
    return _section(
        "FILTER",
        [
            ("Name", "rewrite_tag"),
            ("Match", CONTAINER_TAG),
            *rules,
            ("Emitter_Name", "tenant_router"),
            ("Emitter_Mem_Buf_Limit", "10M"),
        ],
    )


def loki_output_auth() -> list[tuple[str, str]]:
    """The writer's credential at Loki's gateway (imaas/spec/store_auth.py): its password from the environment, which
    the chart fills from the platform's Secret (Fluent Bit expands `${VAR}` in its configuration)."""
    return [("http_user", LOKI_WRITER.user), ("http_passwd", f"${{{FLUENT_BIT_PASSWORD_ENV}}}")]


def _loki_output(match: str, log_tenant: str, endpoints: Endpoints) -> str:
    return _section(
        "OUTPUT",
        [
            ("Name", "loki"),
            ("Match", match),
            ("Host", endpoints.loki_host),
            ("Port", str(LOKI_GATEWAY_PORT)),
            ("tenant_id", log_tenant),
            *loki_output_auth(),
            (
                "labels",
                "job=fluent-bit, namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name'], "
                "container=$kubernetes['container_name']",
            ),
            ("line_format", "json"),
        ],
    )
