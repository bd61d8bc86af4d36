"""Fluent Bit's pipeline: container logs filed under the Loki tenant of the namespace that wrote them, learnt at run
time from that namespace's `imaas.io/tenant` label.

The configuration is the same whatever the tenants: one input, two filters, one output, no rule naming a tenant (read
against Fluent Bit 5.1.1's source: plugins/filter_kubernetes, filter_grep, out_loki, src/flb_ra_key.c):

- the Kubernetes filter adds the namespace's name and labels (`namespace_labels`) under `kubernetes_namespace`, as
  the API server returns them, cached `kube_meta_namespace_cache_ttl`; when it cannot read the namespace it adds no
  `kubernetes_namespace` at all. Nothing a pod writes can stand there: a JSON log line is merged under
  `log_processed`, never at the top, and the filter appends `kubernetes` and `kubernetes_namespace` after the
  record's own keys (of two equal keys the record accessor reads the last);
- a grep filter keeps only the lines whose namespace was read: a line of a namespace the filter could not read (the
  API server out of reach) is dropped and counted (`fluentbit_filter_drop_records_total`), never filed under the
  platform's tenant or guessed;
- one Loki output sends each line under its namespace's label (`tenant_id_key`; out_loki groups a chunk's records
  by tenant, one request each, and a tail chunk holds one container's lines), and a line of a namespace without the
  label, the platform's own (only the platform labels namespaces, every tenant namespace it creates), under
  `platform` (`tenant_id`).

No re-tag: rewrite_tag keeps a record under its old tag when its emitter refuses it (a backlog), where a catch-all
output would file it under `platform`, and its emitter holds records in memory between a filter and its chunk, lost
when the pod dies. Restarts and backlogs lose nothing the node still holds: the tail input keeps its offsets in a
database and its chunks on the node's disk (`storage.type filesystem`), both on a host directory, and pauses reading
when too many chunks are up; a change of this configuration is hot reloaded rather than rolled over the nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from imaas.declarations import naming
from imaas.declarations.store_auth import FLUENT_BIT_PASSWORD_ENV, LOKI_WRITER
from imaas.declarations.telemetry import LOKI_GATEWAY_PORT, PLATFORM_LOG_TENANT, Endpoints

CONTAINER_TAG = "kube.*"
# Where the Kubernetes filter puts the namespace's labels (kube_meta.c, merge_namespace_meta), as a record accessor.
NAMESPACE_KEY = "$kubernetes_namespace"
TENANT_KEY = f"{NAMESPACE_KEY}['labels']['{naming.TENANT_LABEL}']"
NAMESPACE_NAME_KEY = f"{NAMESPACE_KEY}['name']"
# A JSON log line is merged under this key, never at the top of the record where the routing keys are.
MERGED_LOG_KEY = "log_processed"

# On the node, so that offsets and buffered chunks outlive the pod: a host directory of Fluent Bit's own.
STATE_VOLUME = "fluent-bit-state"
STATE_HOST_PATH = "/var/lib/fluent-bit"
STATE_DIR = "/var/fluent-bit/state"
TAIL_DB = f"{STATE_DIR}/tail-containers.db"
STORAGE_PATH = f"{STATE_DIR}/flb-storage/"
METRICS_PORT = 2020


def fluent_bit_config(endpoints: Endpoints) -> dict[str, str]:
    """The chart's `config` sections: read container logs, learn their namespace and its tenant, send them."""
    return {
        "service": _service(),
        "inputs": _container_logs(),
        "filters": "\n".join([_kubernetes_metadata(), _read_namespaces_only()]),
        "outputs": _loki_output(endpoints),
    }


def state_volumes() -> dict[str, list[dict[str, Any]]]:
    """The chart's DaemonSet volumes: its defaults (a list given replaces them) and the state directory."""
    return {
        "daemonSetVolumes": [
            {"name": "varlog", "hostPath": {"path": "/var/log"}},
            {"name": "varlibdockercontainers", "hostPath": {"path": "/var/lib/docker/containers"}},
            {"name": "etcmachineid", "hostPath": {"path": "/etc/machine-id", "type": "File"}},
            {"name": STATE_VOLUME, "hostPath": {"path": STATE_HOST_PATH, "type": "DirectoryOrCreate"}},
        ],
        "daemonSetVolumeMounts": [
            {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
            {"name": "varlibdockercontainers", "mountPath": "/var/lib/docker/containers", "readOnly": True},
            {"name": "etcmachineid", "mountPath": "/etc/machine-id", "readOnly": True},
            {"name": STATE_VOLUME, "mountPath": STATE_DIR},
        ],
    }


def _section(kind: str, entries: Iterable[tuple[str, str]]) -> str:
    return "\n".join([f"[{kind}]", *(f"    {key} {value}" for key, value in entries)]) + "\n"


def _service() -> str:
    # The chart's own [SERVICE] (values.yaml, config.service) with the storage and hot reload this pipeline needs.
    return _section(
        "SERVICE",
        [
            ("Daemon", "Off"),
            ("Flush", "1"),
            ("Log_Level", "info"),
            ("Parsers_File", "/fluent-bit/etc/parsers.conf"),
            ("Parsers_File", "/fluent-bit/etc/conf/custom_parsers.conf"),
            ("HTTP_Server", "On"),
            ("HTTP_Listen", "0.0.0.0"),
            ("HTTP_Port", str(METRICS_PORT)),
            ("Health_Check", "On"),
            ("Hot_Reload", "On"),
            ("storage.path", STORAGE_PATH),
            ("storage.sync", "normal"),
            ("storage.checksum", "Off"),
            ("storage.max_chunks_up", "128"),
            ("storage.backlog.mem_limit", "16M"),
        ],
    )


def _container_logs() -> str:
    return _section(
        "INPUT",
        [
            ("Name", "tail"),
            ("Path", "/var/log/containers/*.log"),
            ("multiline.parser", "docker, cri"),
            ("Tag", CONTAINER_TAG),
            # Offsets on the node: a restarted pod goes on where the last one stopped.
            ("DB", TAIL_DB),
            ("DB.locking", "true"),
            # Chunks on the node's disk; past max_chunks_up in memory the input pauses and the log files wait.
            ("storage.type", "filesystem"),
            ("storage.pause_on_chunks_overlimit", "On"),
            ("Skip_Long_Lines", "On"),
        ],
    )


def _kubernetes_metadata() -> str:
    return _section(
        "FILTER",
        [
            ("Name", "kubernetes"),
            ("Match", CONTAINER_TAG),
            ("Namespace_Labels", "On"),
            # The filter's default, written out: a namespace's labels are read again at most this long after.
            ("Kube_Meta_Namespace_Cache_TTL", "15m"),
            ("Merge_Log", "On"),
            # Under a key of its own: merged at the top, a JSON log line's `kubernetes_namespace` would be the only
            # one of a line whose namespace the filter could not read, and name that line's tenant.
            ("Merge_Log_Key", MERGED_LOG_KEY),
            ("Keep_Log", "Off"),
            ("K8S-Logging.Parser", "On"),
            ("K8S-Logging.Exclude", "On"),
        ],
    )


def _read_namespaces_only() -> str:
    # A missing key matches no regex (flb_ra_regex_match), so the grep drops exactly the lines without a namespace.
    return _section("FILTER", [("Name", "grep"), ("Match", CONTAINER_TAG), ("Regex", f"{NAMESPACE_NAME_KEY} ^.+$")])


def loki_output_auth() -> list[tuple[str, str]]:
    """The writer's credential at Loki's gateway (imaas/declarations/store_auth.py): its password from the environment,
    which the chart fills from the platform's Secret (Fluent Bit expands `${VAR}` in its configuration)."""
    return [("http_user", LOKI_WRITER.user), ("http_passwd", f"${{{FLUENT_BIT_PASSWORD_ENV}}}")]


def _loki_output(endpoints: Endpoints) -> str:
    return _section(
        "OUTPUT",
        [
            ("Name", "loki"),
            ("Match", CONTAINER_TAG),
            # The tenant from the record, or the platform's for a namespace read without the label.
            ("tenant_id_key", TENANT_KEY),
            ("tenant_id", PLATFORM_LOG_TENANT),
            # out_loki warns of every record without the key (collect_tenant_groups): each platform line would write
            # a line to Fluent Bit's own log, itself a platform line that this output reads, without end.
            ("log_level", "error"),
            ("Host", endpoints.loki_host),
            ("Port", str(LOKI_GATEWAY_PORT)),
            *loki_output_auth(),
            (
                "labels",
                "job=fluent-bit, namespace=$kubernetes['namespace_name'], pod=$kubernetes['pod_name'], "
                "container=$kubernetes['container_name']",
            ),
            ("line_format", "json"),
        ],
    )
