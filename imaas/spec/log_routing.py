"""Fluent Bit's pipeline: container logs filed under the Loki tenant of the namespace that wrote them, learnt at run
time from that namespace's `imaas.io/tenant` label.

The configuration is the same whatever the tenants (a fixed number of rules and outputs, read against Fluent Bit
5.1.1's source, plugins/filter_kubernetes, filter_rewrite_tag, in_emitter and out_loki):

- the Kubernetes filter adds the namespace's labels (`namespace_labels`) under `kubernetes_namespace.labels`, as
  the API server returns them, cached `kube_meta_namespace_cache_ttl`. Nothing a pod writes can stand there: the
  filter appends `kubernetes` and `kubernetes_namespace` after the record's own keys (and the record accessor reads
  the last of two equal keys), and a JSON log line is merged under `log_processed`, never at the top;
- one re-tag rule files a line of a labelled namespace under `tenant.<label>`, so that each chunk holds one tenant
  (Loki's output then sends one request per chunk); a second re-tags a line of a namespace whose metadata was read
  and has no label (the platform's own namespaces: the platform labels every tenant namespace it creates) as
  `platform`;
- one Loki output takes the tenant from the record (`tenant_id_key`, the same label) for `tenant.*` and for the
  `kube.*` lines the re-tag could not emit (in_emitter refuses a record when its buffer is over its limit, and
  rewrite_tag then keeps it under its old tag): a tenant line keeps its tenant whichever way it goes. It has no
  default tenant: a line whose namespace could not be read (the API server out of reach) is refused by Loki rather
  than filed under anyone's tenant;
- one Loki output sends the `platform` lines as `platform`.

Restarts and backlogs lose nothing the node still holds: the tail input's offsets are kept in a database and its
chunks and the re-tag emitter's on the node's disk (`storage.type filesystem`), both on a host directory, and a
change of this configuration is hot reloaded rather than rolled over the nodes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from imaas.spec import naming
from imaas.spec.store_auth import FLUENT_BIT_PASSWORD_ENV, LOKI_WRITER
from imaas.spec.telemetry import LOKI_GATEWAY_PORT, PLATFORM_LOG_TENANT, Endpoints

CONTAINER_TAG = "kube.*"
TENANT_TAG_PREFIX = "tenant."
PLATFORM_TAG = PLATFORM_LOG_TENANT
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
        "filters": "\n".join([_kubernetes_metadata(), _tenant_router()]),
        "outputs": "\n".join(
            [
                _loki_output(
                    [("Match_Regex", _tenant_or_unrouted_tags()), ("tenant_id_key", TENANT_KEY)],
                    endpoints,
                ),
                _loki_output([("Match", PLATFORM_TAG), ("tenant_id", PLATFORM_LOG_TENANT)], endpoints),
            ]
        ),
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
            # Under a key of its own: merged at the top, a tenant's JSON log line would sit beside the keys that
            # route it (the filter appends its own after it, and the last of two equal keys is the one read; this
            # keeps even that from mattering).
            ("Merge_Log_Key", MERGED_LOG_KEY),
            ("Keep_Log", "Off"),
            ("K8S-Logging.Parser", "On"),
            ("K8S-Logging.Exclude", "On"),
        ],
    )


def _tenant_router() -> str:
    return _section(
        "FILTER",
        [
            ("Name", "rewrite_tag"),
            ("Match", CONTAINER_TAG),
            # First match wins: a labelled namespace is its tenant's, whatever its name.
            ("Rule", f"{TENANT_KEY} ^(.*)$ {TENANT_TAG_PREFIX}$1 false"),
            # Read, and not labelled: one of the platform's own namespaces. A line whose namespace could not be read
            # matches neither rule and keeps its kube.* tag.
            ("Rule", f"{NAMESPACE_NAME_KEY} ^.+$ {PLATFORM_TAG} false"),
            ("Emitter_Name", "tenant_router"),
            # Chunks on disk, and no memory limit of its own: over a limit in_emitter refuses the record (and
            # rewrite_tag keeps it under kube.*); without one, a full emitter pauses the tail input instead
            # (in_emitter: storage.pause_on_chunks_overlimit, on by default with filesystem storage).
            ("Emitter_Storage.type", "filesystem"),
            ("Emitter_Mem_Buf_Limit", "0"),
        ],
    )


def _tenant_or_unrouted_tags() -> str:
    """Every tenant's tag and every line the router left under its input tag."""
    return "^(" + "|".join(tag.rstrip("*").replace(".", r"\.") for tag in (TENANT_TAG_PREFIX, CONTAINER_TAG)) + ").*$"


def loki_output_auth() -> list[tuple[str, str]]:
    """The writer's credential at Loki's gateway (imaas/spec/store_auth.py): its password from the environment, which
    the chart fills from the platform's Secret (Fluent Bit expands `${VAR}` in its configuration)."""
    return [("http_user", LOKI_WRITER.user), ("http_passwd", f"${{{FLUENT_BIT_PASSWORD_ENV}}}")]


def _loki_output(routing: list[tuple[str, str]], endpoints: Endpoints) -> str:
    return _section(
        "OUTPUT",
        [
            ("Name", "loki"),
            *routing,
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
