"""The stores' second fence: Loki, Tempo and Alertmanager refuse a write or read that carries no credential of the
platform's, so that a CNI that enforces no NetworkPolicy, or a `clusterCidrs` that misses the pod range, does not
open one tenant's data to another's pods.

Each store is reached through nginx, with basic auth, and each credential opens only its own paths: the writer's
(Fluent Bit, the collector, the two Prometheus) the store's push path, the reader's (Grafana) its query paths.
- Loki: the chart's gateway (`gateway.basicAuth`, the htpasswd from a Secret of the platform's), running the whole
  nginx file written here (`gateway.nginxConfig.file`): only the push and query paths, none of the ring, flush,
  config, rules or delete endpoints the chart's own file opens. The gateway is a pod of its own, so it forwards the
  credential, and Loki's pod checks it again, as Tempo's does: Loki listens on its pod's loopback interface only
  (HTTP on LOKI_LOOPBACK_PORT, gRPC on its own port), and nginx beside it owns the pod's port 3100, which the
  chart's Service and probes target (the Loki container's `http-metrics` port).
- Tempo: its chart has no gateway. nginx runs beside Tempo in the same pod and owns the pod's ports; Tempo listens
  on the loopback interface only, so nothing outside the pod reaches Tempo but through the proxy.
- Alertmanager: the operator's `web` settings have no basic-auth users (prometheus-operator v0.91.0,
  WebConfigFileFields: tlsConfig and httpConfig only). `listenLocal` binds Alertmanager to 127.0.0.1:9093, where
  the config reloader reaches it (its reload URL is `localhost:9093`), and nginx beside it owns the web port.

Credentials are derived from one secret stack setting (`imaas:observabilityCredentialKey`) with HMAC-SHA256, one per
store and client, inside `Output.apply`, so they are secret wherever they go (state, plan, logs). The htpasswd
entries are salted SHA-1 (`{SSHA}`): nginx checks them itself (ngx_crypt.c), the same on the images' musl and on
Debian's glibc, where crypt() schemes differ, and at one hash per request, which nginx does for every request (it
caches nothing); a salted fast hash is enough for a 256-bit random password, which no dictionary holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from imaas.declarations.charts import KUBE_PROMETHEUS_STACK, LOKI, TEMPO
from imaas.declarations.telemetry import CLUSTER_DOMAIN, OTLP_GRPC_PORT, TEMPO_QUERY_PORT

WRITE, READ = "write", "read"
HTPASSWD_KEY = ".htpasswd"
HTPASSWD_DIR = "/etc/nginx/secrets"
"""Where the Loki chart mounts the gateway's htpasswd Secret (templates/gateway/deployment.yaml), and the sidecars
theirs."""
HTPASSWD_FILE = f"{HTPASSWD_DIR}/{HTPASSWD_KEY}"
LOKI_GATEWAY_PORT = 8080
"""The gateway's container port (the chart's `gateway.containerPort`)."""
LOKI_PORT = 3100
"""Loki's port as the chart's Service, its probes and the Loki container's `http-metrics` port name it (the chart's
`loki.server.http_listen_port`): the sidecar's, in Loki's pod."""
LOKI_LOOPBACK_PORT = 3101
"""Where Loki itself listens for HTTP, on its pod's loopback interface (`server.http_listen_port` in its
structuredConfig, which only Loki's configuration file reads)."""
LOKI_GRPC_PORT = 9095
"""Loki's gRPC port (the chart's `loki.server.grpc_listen_port`), on the loopback interface too: nothing outside the
single binary calls it."""
# Tempo on the loopback interface of its pod, the proxy on the pod's ports. The chart's Service sends 3200 and 4317
# to the pod (templates/_ports.tpl, fixed targetPorts), where the proxy listens; it names its OTLP gRPC port after
# the receiver's endpoint, so the Service's OTLP port is the loopback receiver's (TEMPO_OTLP_LOOPBACK_PORT).
TEMPO_HTTP_LOOPBACK_PORT = 3201
TEMPO_OTLP_LOOPBACK_PORT = 14317
LOOPBACK = "127.0.0.1"
ALERTMANAGER_LOOPBACK_PORT = 9093
"""Where Alertmanager listens with `listenLocal` (pkg/alertmanager/statefulset.go: `127.0.0.1:9093`)."""
ALERTMANAGER_PROXY_PORT = 9095
"""The proxy's port: 9093 is Alertmanager's own on the loopback interface, 9094 its cluster port."""
PROXY_CONTAINER = "imaas-auth-proxy"
PROXY_CONFIG_KEY = "nginx.conf"
PROXY_TEMP_DIR = "/tmp"
MAX_BODY = "16m"
OTLP_EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass(frozen=True)
class Client:
    """A holder of one credential for one store."""

    store: str
    user: str
    role: str


LOKI_WRITER = Client("loki", "fluent-bit", WRITE)
LOKI_READER = Client("loki", "grafana", READ)
TEMPO_WRITER = Client("tempo", "collector", WRITE)
TEMPO_READER = Client("tempo", "grafana", READ)
ALERTMANAGER_WRITER = Client("alertmanager", "prometheus", WRITE)
ALERTMANAGER_TENANT_WRITER = Client("alertmanager", "prometheus-tenants", WRITE)
CLIENTS = (LOKI_WRITER, LOKI_READER, TEMPO_WRITER, TEMPO_READER, ALERTMANAGER_WRITER, ALERTMANAGER_TENANT_WRITER)


def password(key: str, client: Client) -> str:
    """The client's password: HMAC-SHA256 of its store and name under the stack's key, URL-safe base64 (43
    characters, none that a header, an htpasswd line or a YAML value would treat specially)."""
    mac = hmac.new(key.encode(), f"imaas/{client.store}/{client.user}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def basic_authorization(key: str, client: Client) -> str:
    """The `Authorization` header value of the client: what a client that takes headers only sends."""
    token = base64.b64encode(f"{client.user}:{password(key, client)}".encode()).decode()
    return f"Basic {token}"


def htpasswd_entry(user: str, secret: str, salt: bytes) -> str:
    """`user:{SSHA}base64(SHA1(password salt) salt)`, as nginx reads it (ngx_crypt_ssha)."""
    digest = hashlib.sha1(secret.encode() + salt, usedforsecurity=True).digest()
    return f"{user}:{{SSHA}}{base64.b64encode(digest + salt).decode()}"


def htpasswd(key: str, clients: tuple[Client, ...]) -> str:
    """The htpasswd file of one store's proxy. The salt is derived too (8 bytes, per client), so the file, and the
    Secret holding it, change only when the key does."""
    lines = []
    for client in clients:
        salt = hmac.new(key.encode(), f"imaas-salt/{client.store}/{client.user}".encode(), hashlib.sha256).digest()
        lines.append(htpasswd_entry(client.user, password(key, client), salt[:8]))
    return "\n".join(lines) + "\n"


# --- what each proxy lets through -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """An nginx location and the clients it admits, with the methods they may use there."""

    location: str
    """`= /exact/path` or `~ ^regex$`."""
    users: tuple[str, ...]
    methods: tuple[str, ...]


@dataclass(frozen=True)
class Listener:
    port: int
    upstream: str
    """`host:port` the admitted requests go to."""
    routes: tuple[Route, ...]
    open_paths: tuple[str, ...] = ()
    """Exact paths anyone may GET without a credential (health checks), forwarded as they are."""
    grpc: bool = False
    health: str | None = None
    """An exact path answered `200 OK` by the proxy itself (the Loki chart's readiness probe, `/`)."""
    forward_credential: bool = False
    """Pass the client's `Authorization` on to the upstream: a proxy in front of another proxy that checks it again
    (Loki's gateway in front of the sidecar in Loki's pod)."""


@dataclass(frozen=True)
class ProxySpec:
    store: str
    listeners: tuple[Listener, ...]
    clients: tuple[Client, ...]


# The read API Grafana's Loki data source and Logs Drilldown call (Loki's pkg/loki/modules.go query routes).
LOKI_READ_PATHS = (
    "query",
    "query_range",
    "labels",
    "label/[^/]+/values",
    "series",
    "index/stats",
    "index/volume",
    "index/volume_range",
    "patterns",
    "detected_fields",
    "detected_field/[^/]+/values",
    "detected_labels",
    "format_query",
    "tail",
    "status/buildinfo",
)
# Tempo's query API (Grafana's Tempo data source: traces by id, search, tags, TraceQL metrics, its health check).
TEMPO_READ_PATHS = (
    "echo",
    "status/buildinfo",
    "traces/[^/]+",
    "v2/traces/[^/]+",
    "search",
    "search/tags",
    "v2/search/tags",
    "search/tag/[^/]+/values",
    "v2/search/tag/[^/]+/values",
    "metrics/query",
    "metrics/query_range",
)


def _any_of(prefix: str, paths: tuple[str, ...]) -> str:
    return f"~ ^{prefix}({'|'.join(paths)})$"


LOKI_ROUTES = (
    Route("= /loki/api/v1/push", (LOKI_WRITER.user,), ("POST",)),
    Route(_any_of("/loki/api/v1/", LOKI_READ_PATHS), (LOKI_READER.user,), ("GET", "POST")),
)
LOKI_PROBE_PATHS = ("/ready", "/loki/api/v1/status/buildinfo")
"""The chart's readiness and liveness probes of Loki's container (`loki.readinessProbe`, `loki.livenessProbe`),
which ask the pod's port 3100, the sidecar's."""


def loki_proxy(namespace: str) -> ProxySpec:
    """The chart's gateway: checks the credential and passes it on to Loki's Service, where the sidecar checks it
    again."""
    upstream = f"{LOKI.release}.{namespace}.svc.{CLUSTER_DOMAIN}:{LOKI_PORT}"
    return ProxySpec(
        "loki",
        (Listener(LOKI_GATEWAY_PORT, upstream, LOKI_ROUTES, health="/", forward_credential=True),),
        (LOKI_WRITER, LOKI_READER),
    )


def loki_sidecar_proxy() -> ProxySpec:
    """The nginx beside Loki, on the pod's port 3100, in front of Loki on 127.0.0.1: the same routes and clients as
    the gateway's; only the probes' paths are open."""
    return ProxySpec(
        "loki",
        (Listener(LOKI_PORT, f"{LOOPBACK}:{LOKI_LOOPBACK_PORT}", LOKI_ROUTES, open_paths=LOKI_PROBE_PATHS),),
        (LOKI_WRITER, LOKI_READER),
    )


def tempo_proxy() -> ProxySpec:
    return ProxySpec(
        "tempo",
        (
            Listener(
                TEMPO_QUERY_PORT,
                f"{LOOPBACK}:{TEMPO_HTTP_LOOPBACK_PORT}",
                (Route(_any_of("/api/", TEMPO_READ_PATHS), (TEMPO_READER.user,), ("GET", "POST")),),
                # The chart's probes (`tempo.readinessProbe`, `livenessProbe`) ask the pod's port 3200.
                open_paths=("/ready",),
            ),
            Listener(
                OTLP_GRPC_PORT,
                f"{LOOPBACK}:{TEMPO_OTLP_LOOPBACK_PORT}",
                (Route(f"= {OTLP_EXPORT_PATH}", (TEMPO_WRITER.user,), ("POST",)),),
                grpc=True,
            ),
        ),
        (TEMPO_WRITER, TEMPO_READER),
    )


def alertmanager_proxy() -> ProxySpec:
    writers = (ALERTMANAGER_WRITER.user, ALERTMANAGER_TENANT_WRITER.user)
    return ProxySpec(
        "alertmanager",
        (
            Listener(
                ALERTMANAGER_PROXY_PORT,
                f"{LOOPBACK}:{ALERTMANAGER_LOOPBACK_PORT}",
                # Alerts in, and nothing else: no silence, no status, no receivers, no reload.
                (Route("= /api/v2/alerts", writers, ("POST",)),),
                # Probes, and the chart's self-monitoring of Alertmanager (its ServiceMonitor has no credential).
                open_paths=("/-/ready", "/-/healthy", "/metrics"),
            ),
        ),
        (ALERTMANAGER_WRITER, ALERTMANAGER_TENANT_WRITER),
    )


# --- nginx's configuration ---------------------------------------------------------------------------------------


def _variable(users: tuple[str, ...]) -> str:
    return "$imaas_may_" + "_".join(sorted(user.replace("-", "_") for user in users))


def _maps(spec: ProxySpec) -> list[str]:
    """One map per set of admitted users: 1 for those users, and for a request that names none (which auth_basic
    then refuses with 401); 0 for everyone else, refused with 403 before the password is even checked."""
    lines: list[str] = []
    seen: set[str] = set()
    for listener in spec.listeners:
        for route in listener.routes:
            name = _variable(route.users)
            if name in seen:
                continue
            seen.add(name)
            lines += [f"  map $remote_user {name} {{", "    default 0;", '    "" 1;']
            lines += [f'    "{user}" 1;' for user in sorted(route.users)]
            lines.append("  }")
    return lines


def _location(route: Route, listener: Listener) -> list[str]:
    if listener.grpc:
        forward = [
            '      grpc_set_header Authorization "";',
            f"      grpc_pass grpc://{listener.upstream};",
        ]
    else:
        credential = [] if listener.forward_credential else ['      proxy_set_header Authorization "";']
        forward = [
            *credential,
            "      proxy_set_header Upgrade $http_upgrade;",
            "      proxy_set_header Connection $imaas_connection;",
            f"      proxy_pass http://{listener.upstream};",
        ]
    return [
        f"    location {route.location} {{",
        f"      if ({_variable(route.users)} = 0) {{ return 403; }}",
        f"      limit_except {' '.join(route.methods)} {{ deny all; }}",
        *forward,
        "    }",
    ]


def _server(listener: Listener, htpasswd_file: str, ipv6: bool) -> list[str]:
    suffix = " http2" if listener.grpc else ""
    lines = ["  server {", f"    listen {listener.port}{suffix};"]
    if ipv6:
        lines.append(f"    listen [::]:{listener.port}{suffix};")
    lines += ['    auth_basic "imaas";', f"    auth_basic_user_file {htpasswd_file};"]
    if listener.health is not None:
        lines += [f"    location = {listener.health} {{", "      auth_basic off;", "      return 200 'OK';", "    }"]
    for path in listener.open_paths:
        lines += [
            f"    location = {path} {{",
            "      auth_basic off;",
            "      limit_except GET { deny all; }",
            f"      proxy_pass http://{listener.upstream};",
            "    }",
        ]
    for route in listener.routes:
        lines += _location(route, listener)
    # Every other path: refused, whoever asks.
    lines += ["    location / {", "      return 404;", "    }", "  }"]
    return lines


def nginx_config(
    spec: ProxySpec, htpasswd_file: str = HTPASSWD_FILE, temp_dir: str = PROXY_TEMP_DIR, ipv6: bool = True
) -> str:
    """nginx.conf of one store's proxy, whole: what the gateway or sidecar runs and what the tests run. No `{{`
    (the Loki chart passes its file through `tpl`), no `daemon` (the images start nginx with `-g 'daemon off;'`)."""
    lines = [
        "# Written by the platform: every path needs a credential of the platform's, and each credential opens only",
        "# its own paths.",
        "worker_processes 2;",
        "error_log /dev/stderr;",
        f"pid {temp_dir}/nginx.pid;",
        "events {",
        "  worker_connections 4096;",
        "}",
        "http {",
        *(
            f"  {kind}_temp_path {temp_dir}/{kind}_temp;"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        f"  client_max_body_size {MAX_BODY};",
        "  server_tokens off;",
        "  proxy_http_version 1.1;",
        "  proxy_read_timeout 600;",
        "  proxy_send_timeout 600;",
        "  grpc_read_timeout 600;",
        "  grpc_send_timeout 600;",
        "  # Refusals are logged (4xx, 5xx), admitted requests are not.",
        "  map $status $imaas_loggable {",
        "    ~^[23] 0;",
        "    default 1;",
        "  }",
        "  access_log /dev/stderr combined if=$imaas_loggable;",
        "  map $http_upgrade $imaas_connection {",
        "    default upgrade;",
        '    "" "";',
        "  }",
        *_maps(spec),
    ]
    for listener in spec.listeners:
        lines += _server(listener, htpasswd_file, ipv6)
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- where the credentials live in the cluster --------------------------------------------------------------------


def htpasswd_secret(store: str) -> str:
    """The Secret holding a store proxy's htpasswd (key `.htpasswd`)."""
    return f"imaas-{store}-htpasswd"


def client_secret(holder: str) -> str:
    """The Secret holding what one client pod needs of its credentials, and nothing of another's."""
    return f"imaas-credentials-{holder}"


PASSWORD_KEY = "password"
USERNAME_KEY = "username"
AUTHORIZATION_KEY = "authorization"
GRAFANA_LOKI_KEY, GRAFANA_TEMPO_KEY = "loki-password", "tempo-password"
# The environment variables the clients read their credential from.
FLUENT_BIT_PASSWORD_ENV = "IMAAS_LOKI_PASSWORD"
COLLECTOR_AUTHORIZATION_ENV = "IMAAS_TEMPO_AUTHORIZATION"
GRAFANA_LOKI_PASSWORD_ENV = "IMAAS_LOKI_PASSWORD"
GRAFANA_TEMPO_PASSWORD_ENV = "IMAAS_TEMPO_PASSWORD"
GRAFANA_HOLDER, FLUENT_BIT_HOLDER, COLLECTOR_HOLDER = "grafana", "fluent-bit", "collector"
PROMETHEUS_HOLDER, TENANT_PROMETHEUS_HOLDER = "prometheus", "prometheus-tenants"


def client_secrets(key: str) -> dict[str, dict[str, str]]:
    """Every client Secret's data by name, derived from the key."""
    return {
        client_secret(FLUENT_BIT_HOLDER): {PASSWORD_KEY: password(key, LOKI_WRITER)},
        client_secret(COLLECTOR_HOLDER): {AUTHORIZATION_KEY: basic_authorization(key, TEMPO_WRITER)},
        client_secret(GRAFANA_HOLDER): {
            GRAFANA_LOKI_KEY: password(key, LOKI_READER),
            GRAFANA_TEMPO_KEY: password(key, TEMPO_READER),
        },
        client_secret(PROMETHEUS_HOLDER): {
            USERNAME_KEY: ALERTMANAGER_WRITER.user,
            PASSWORD_KEY: password(key, ALERTMANAGER_WRITER),
        },
        client_secret(TENANT_PROMETHEUS_HOLDER): {
            USERNAME_KEY: ALERTMANAGER_TENANT_WRITER.user,
            PASSWORD_KEY: password(key, ALERTMANAGER_TENANT_WRITER),
        },
    }


PROXIES = ("loki", "tempo", "alertmanager")


def htpasswd_secrets(key: str) -> dict[str, dict[str, str]]:
    """Every proxy's htpasswd Secret's data by name."""
    return {
        htpasswd_secret(spec.store): {HTPASSWD_KEY: htpasswd(key, spec.clients)}
        for spec in (loki_proxy("unused"), tempo_proxy(), alertmanager_proxy())
    }


def proxy_config_map(store: str) -> str:
    return f"imaas-{store}-proxy"


def basic_auth_selector(holder: str) -> dict[str, dict[str, str]]:
    """A Prometheus `basicAuth` (SecretKeySelectors) from the holder's Secret."""
    name = client_secret(holder)
    return {"username": {"name": name, "key": USERNAME_KEY}, "password": {"name": name, "key": PASSWORD_KEY}}


_RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "runAsUser": 101,
    "runAsGroup": 101,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONFIG_VOLUME, AUTH_VOLUME, TEMP_VOLUME = "imaas-proxy-config", "imaas-proxy-auth", "imaas-proxy-tmp"


def proxy_container(image: str, spec: ProxySpec, ports: dict[str, int], ready_path: str) -> dict[str, object]:
    """The nginx sidecar of a store's pod: its configuration from the platform's ConfigMap, its htpasswd from the
    store's Secret; nginx is started directly (no image entrypoint scripts, which write into /etc/nginx)."""
    first = next(iter(ports))
    return {
        "name": PROXY_CONTAINER,
        "image": image,
        "command": ["nginx", "-c", f"/etc/nginx/{PROXY_CONFIG_KEY}", "-g", "daemon off;"],
        "ports": [{"name": name, "containerPort": port, "protocol": "TCP"} for name, port in ports.items()],
        "readinessProbe": {"httpGet": {"path": ready_path, "port": first}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": _RESTRICTED,
        "volumeMounts": [
            {"name": CONFIG_VOLUME, "mountPath": "/etc/nginx", "readOnly": True},
            {"name": AUTH_VOLUME, "mountPath": HTPASSWD_DIR, "readOnly": True},
            {"name": TEMP_VOLUME, "mountPath": PROXY_TEMP_DIR},
        ],
    }


def proxy_volumes(store: str) -> list[dict[str, object]]:
    return [
        {"name": CONFIG_VOLUME, "configMap": {"name": proxy_config_map(store)}},
        {"name": AUTH_VOLUME, "secret": {"secretName": htpasswd_secret(store)}},
        {"name": TEMP_VOLUME, "emptyDir": {}},
    ]


ALERTMANAGER_SERVICE_HOST = f"{KUBE_PROMETHEUS_STACK.release}-alertmanager"
TEMPO_SERVICE = TEMPO.release
