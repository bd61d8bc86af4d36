"""Where the stores' credentials (imaas/declarations/store_auth.py) go in each release's values: the proxies in front of
the stores, and the credential of every client, always by reference to its Secret (an environment variable or a file),
never by value: no values, plan or log holds one."""

from __future__ import annotations

import hashlib
from typing import Any

from imaas.declarations import store_auth
from imaas.declarations.store_auth import (
    ALERTMANAGER_PROXY_PORT,
    COLLECTOR_AUTHORIZATION_ENV,
    FLUENT_BIT_PASSWORD_ENV,
    GRAFANA_LOKI_PASSWORD_ENV,
    GRAFANA_TEMPO_PASSWORD_ENV,
    LOKI_GRPC_PORT,
    LOKI_LOOPBACK_PORT,
    LOKI_PORT,
    LOOPBACK,
    TEMPO_HTTP_LOOPBACK_PORT,
    TEMPO_OTLP_LOOPBACK_PORT,
)
from imaas.declarations.telemetry import OTLP_GRPC_PORT, TEMPO_QUERY_PORT

CHECKSUM_ANNOTATION = "imaas.io/proxy-config"
"""The sidecar reads its configuration once, at start: a changed one restarts the pod."""


def _from_secret(env: str, holder: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": store_auth.client_secret(holder), "key": key}}}


def _checksum(spec: store_auth.ProxySpec) -> str:
    return hashlib.sha256(store_auth.nginx_config(spec).encode()).hexdigest()[:16]


def image_values(image: str) -> dict[str, str]:
    """A chart's `image` mapping (registry, repository, tag or digest) from a pinned reference."""
    registry, _, rest = image.partition("/")
    if "@" in rest:
        repository, _, digest = rest.partition("@")
        return {"registry": registry, "repository": repository, "digest": digest}
    repository, _, tag = rest.rpartition(":")
    return {"registry": registry, "repository": repository, "tag": tag}


def loki_gateway_values(namespace: str, proxy_image: str) -> dict[str, Any]:
    """The Loki chart's gateway running the platform's nginx file, with the htpasswd from the platform's Secret.
    `loki.auth_enabled` stays on: the credential says who writes or reads, X-Scope-OrgID still says as which
    tenant."""
    return {
        "gateway": {
            "image": image_values(proxy_image),
            "basicAuth": {"enabled": True, "existingSecret": store_auth.htpasswd_secret("loki")},
            "nginxConfig": {"file": store_auth.nginx_config(store_auth.loki_proxy(namespace))},
            # Its exporter reads the chart's own file's stub_status and syslog log, which the platform's file has not.
            "metrics": {"enabled": False},
        }
    }


def loki_proxy_values(proxy_image: str) -> dict[str, Any]:
    """Loki on its pod's loopback interface, the proxy on the pod's port 3100 (imaas/declarations/store_auth.py).

    The chart's Service, and Loki's probes, target the Loki container's port named `http-metrics`, whose number is
    `loki.server.http_listen_port` (templates/_service.tpl, _pod.tpl): that stays 3100, now the sidecar's, while
    Loki's own configuration file (structuredConfig, merged over the chart's) moves Loki to 127.0.0.1:3101. gRPC
    stays on 9095 but on 127.0.0.1: the Service's gRPC ports lead nowhere, and nothing outside the single binary
    calls them. As in Loki's own single-binary example (cmd/loki/loki-local-config.yaml), every ring is kept in
    memory and advertises 127.0.0.1 (`common.instance_addr`), so the distributor reaches the ingester over the
    loopback, and the querier reaches the compactor there too (the chart's default `compactor_grpc_address` is the
    Service). The querier's worker already dials the frontend on 127.0.0.1 in single-binary mode (Loki's
    pkg/querier/worker_service.go). Memberlist keeps the pod's address (`-memberlist.advertise-addr`, the chart's
    argument) and carries no data."""
    spec = store_auth.loki_sidecar_proxy()
    container = store_auth.proxy_container(proxy_image, spec, {"http-proxy": LOKI_PORT}, "/ready")
    return {
        "loki": {
            "server": {"http_listen_address": LOOPBACK, "grpc_listen_address": LOOPBACK},
            "commonConfig": {
                "instance_addr": LOOPBACK,
                "ring": {"kvstore": {"store": "inmemory"}},
                "compactor_grpc_address": f"{LOOPBACK}:{LOKI_GRPC_PORT}",
            },
            "structuredConfig": {"server": {"http_listen_port": LOKI_LOOPBACK_PORT}},
        },
        "singleBinary": {
            "extraContainers": [container],
            "extraVolumes": store_auth.proxy_volumes("loki"),
            "podAnnotations": {CHECKSUM_ANNOTATION: _checksum(spec)},
        },
    }


def fluent_bit_credential_values() -> dict[str, Any]:
    """The writer's password, in the variable Fluent Bit's Loki output reads (log_routing.loki_output_auth)."""
    return {"env": [_from_secret(FLUENT_BIT_PASSWORD_ENV, store_auth.FLUENT_BIT_HOLDER, store_auth.PASSWORD_KEY)]}


def collector_credential_values() -> dict[str, Any]:
    """The collector's `Authorization` header for Tempo, in the variable its exporters read (traces.py)."""
    return {
        "extraEnvs": [
            _from_secret(COLLECTOR_AUTHORIZATION_ENV, store_auth.COLLECTOR_HOLDER, store_auth.AUTHORIZATION_KEY)
        ]
    }


def tempo_writer_headers() -> dict[str, str]:
    """The collector's credential at Tempo's proxy (imaas/declarations/store_auth.py), from the environment, which the
    chart fills from the platform's Secret (`${env:...}` is expanded by the collector's configuration resolver, in every
    file it reads: the tenant-configuration job writes it into each tenant exporter of the routes file)."""
    return {"Authorization": f"${{env:{COLLECTOR_AUTHORIZATION_ENV}}}"}


def tempo_proxy_values(proxy_image: str) -> dict[str, Any]:
    """Tempo on its pod's loopback interface, the proxy on the pod's ports 3200 and 4317. Every server and receiver of
    Tempo is bound to 127.0.0.1 (the chart's Service template needs every receiver it lists, so none is removed);
    the ingester ring is kept in memory, advertising 127.0.0.1, so the distributor reaches the ingester over the
    loopback too (a single binary: modules/ingester/config.go's default is memberlist, and the querier's worker
    already dials 127.0.0.1 in single-binary mode, cmd/tempo/app/modules.go). Memberlist itself keeps listening on
    the pod's address for the distributor ring, which carries no data."""
    spec = store_auth.tempo_proxy()
    ports = {"http-proxy": TEMPO_QUERY_PORT, "otlp-proxy": OTLP_GRPC_PORT}
    return {
        "tempo": {
            "server": {
                "http_listen_address": LOOPBACK,
                "http_listen_port": TEMPO_HTTP_LOOPBACK_PORT,
                "grpc_listen_address": LOOPBACK,
            },
            "receivers": {
                "jaeger": {
                    "protocols": {
                        "grpc": {"endpoint": f"{LOOPBACK}:14250"},
                        "thrift_binary": {"endpoint": f"{LOOPBACK}:6832"},
                        "thrift_compact": {"endpoint": f"{LOOPBACK}:6831"},
                        "thrift_http": {"endpoint": f"{LOOPBACK}:14268"},
                    }
                },
                "otlp": {
                    "protocols": {
                        "grpc": {"endpoint": f"{LOOPBACK}:{TEMPO_OTLP_LOOPBACK_PORT}"},
                        "http": {"endpoint": f"{LOOPBACK}:4318"},
                    }
                },
            },
            "ingester": {"lifecycler": {"address": LOOPBACK, "ring": {"kvstore": {"store": "inmemory"}}}},
        },
        "extraContainers": [store_auth.proxy_container(proxy_image, spec, ports, "/ready")],
        "extraVolumes": store_auth.proxy_volumes("tempo"),
        "podAnnotations": {CHECKSUM_ANNOTATION: _checksum(spec)},
    }


def alertmanager_proxy_values(proxy_image: str) -> dict[str, Any]:
    """kube-prometheus-stack's `alertmanager`: Alertmanager on 127.0.0.1:9093 (`listenLocal`; the operator's config
    reloader reloads it there, `localhost:9093`), the proxy beside it on ALERTMANAGER_PROXY_PORT, which the chart's
    Service sends its web port to (`service.targetPort`)."""
    spec = store_auth.alertmanager_proxy()
    container = store_auth.proxy_container(proxy_image, spec, {"http-proxy": ALERTMANAGER_PROXY_PORT}, "/-/ready")
    return {
        "service": {"targetPort": ALERTMANAGER_PROXY_PORT},
        "alertmanagerSpec": {
            "listenLocal": True,
            "containers": [container],
            "volumes": store_auth.proxy_volumes("alertmanager"),
            "podMetadata": {"annotations": {CHECKSUM_ANNOTATION: _checksum(spec)}},
        },
    }


def platform_alerting_endpoints(namespace: str) -> list[dict[str, Any]]:
    """kube-prometheus-stack's `prometheus.prometheusSpec.alertingEndpoints`: the chart's own default entry
    (templates/prometheus/prometheus.yaml) with the platform Prometheus's credential."""
    return [
        {
            "namespace": namespace,
            "name": store_auth.ALERTMANAGER_SERVICE_HOST,
            "port": "http-web",
            "apiVersion": "v2",
            "basicAuth": store_auth.basic_auth_selector(store_auth.PROMETHEUS_HOLDER),
        }
    ]


def grafana_credential_env() -> dict[str, Any]:
    """The Grafana chart's `envValueFrom`: the reader's passwords, which the provisioned data sources read as
    `$IMAAS_...` (Grafana expands environment variables in provisioning files)."""
    name = store_auth.client_secret(store_auth.GRAFANA_HOLDER)
    return {
        env: {"secretKeyRef": {"name": name, "key": key}}
        for env, key in (
            (GRAFANA_LOKI_PASSWORD_ENV, store_auth.GRAFANA_LOKI_KEY),
            (GRAFANA_TEMPO_PASSWORD_ENV, store_auth.GRAFANA_TEMPO_KEY),
        )
    }


def reader_basic_auth(store: str) -> dict[str, Any]:
    """What a Grafana data source of `store` adds to carry the reader's credential: the user in the data source, the
    password a secure setting (never returned by Grafana's API), here as the provisioning file's variable."""
    env = {"loki": GRAFANA_LOKI_PASSWORD_ENV, "tempo": GRAFANA_TEMPO_PASSWORD_ENV}[store]
    user = {"loki": store_auth.LOKI_READER.user, "tempo": store_auth.TEMPO_READER.user}[store]
    return {"basicAuth": True, "basicAuthUser": user, "secureJsonData": {"basicAuthPassword": f"${env}"}}
