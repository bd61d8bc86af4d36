"""The store proxies' nginx configuration (imaas/declarations/store_auth.py), run by a real nginx (Debian's, which `make
test` unpacks into .tools/bin) in front of fake stores on 127.0.0.1: a request without the platform's credential, with a
wrong one, or with a credential on another's paths is refused; the right one passes, without its credential."""

from __future__ import annotations

import dataclasses
import http.client
import http.server
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from linters import found_tool

from imaas.declarations import store_auth
from imaas.declarations.store_auth import Client, ProxySpec

pytestmark = pytest.mark.slow

KEY = "a test key, not the stack's: 32 bytes or more of it"
NGINX_HINT = "`make test` installs it into .tools/bin (tools/install_debian_tools.py), or put nginx on PATH"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class FakeStore(http.server.ThreadingHTTPServer):
    """Answers every request with 200 and keeps what it was sent."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        store = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                store.seen.append((self.command, self.path, dict(self.headers)))
                body = b"from the store"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _answer  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def fake_store() -> Iterator[FakeStore]:
    store = FakeStore()
    thread = threading.Thread(target=store.serve_forever, daemon=True)
    thread.start()
    yield store
    store.shutdown()
    store.server_close()


@dataclasses.dataclass
class RunningProxy:
    ports: list[int]
    log: Path


def nginx_binary() -> str:
    found = found_tool("nginx")
    if found is None:
        pytest.fail(f"nginx is not installed: {NGINX_HINT}")
    return found


@pytest.fixture
def run_proxy() -> Iterator[Any]:
    """Starts nginx on a spec whose listeners are moved to free ports and the given upstreams; stops it after."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def run(spec: ProxySpec, upstreams: list[str]) -> RunningProxy:
        # Readable by nginx's workers, which run as nobody when the tests run as root.
        directory = Path(tempfile.mkdtemp(prefix="imaas-proxy-"))
        directory.chmod(0o755)
        listeners = tuple(
            dataclasses.replace(listener, port=free_port(), upstream=upstream)
            for listener, upstream in zip(spec.listeners, upstreams, strict=True)
        )
        moved = dataclasses.replace(spec, listeners=listeners)
        htpasswd = directory / store_auth.HTPASSWD_KEY
        htpasswd.write_text(store_auth.htpasswd(KEY, spec.clients))
        htpasswd.chmod(0o644)
        config = directory / "nginx.conf"
        config.write_text(store_auth.nginx_config(moved, str(htpasswd), str(directory), ipv6=False))
        log = directory / "nginx.log"
        process = subprocess.Popen(
            [nginx_binary(), "-p", str(directory), "-c", str(config), "-e", "stderr", "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        started.append((process, directory))
        ports = [listener.port for listener in listeners]
        deadline = time.monotonic() + 10
        for port in ports:
            while True:
                if process.poll() is not None:
                    pytest.fail(f"nginx refused the configuration:\n{log.read_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"nginx did not listen on {port}:\n{log.read_text()}")
                    time.sleep(0.05)
        return RunningProxy(ports, log)

    yield run
    for process, directory in started:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(directory, ignore_errors=True)


def basic(client: Client, secret: str | None = None) -> dict[str, str]:
    import base64

    password = store_auth.password(KEY, client) if secret is None else secret
    return {"Authorization": "Basic " + base64.b64encode(f"{client.user}:{password}".encode()).decode()}


def call(port: int, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = b"{}" if method in ("POST", "PUT") else None
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


LOKI_QUERY = "/loki/api/v1/query_range?query=%7Bjob%3D%22x%22%7D"
LOKI_PUSH = "/loki/api/v1/push"


def test_loki_gateway_refuses_writes_and_reads_without_their_own_credential(
    fake_store: FakeStore, run_proxy: Any
) -> None:
    proxy = run_proxy(store_auth.loki_proxy("observability"), [fake_store.address])
    port = proxy.ports[0]
    writer, reader = store_auth.LOKI_WRITER, store_auth.LOKI_READER
    refused = {
        "push without a credential": call(port, "POST", LOKI_PUSH),
        "query without a credential": call(port, "GET", LOKI_QUERY),
        "push with a wrong password": call(port, "POST", LOKI_PUSH, basic(writer, "not-the-password")),
        "push with the reader's password under the writer's name": call(
            port, "POST", LOKI_PUSH, basic(writer, store_auth.password(KEY, reader))
        ),
        "query as the writer": call(port, "GET", LOKI_QUERY, basic(writer)),
        "push as the reader": call(port, "POST", LOKI_PUSH, basic(reader)),
        "delete as the reader": call(port, "POST", "/loki/api/v1/delete?query=%7B%7D", basic(reader)),
        "flush as the writer": call(port, "POST", "/flush", basic(writer)),
        "config as the reader": call(port, "GET", "/config", basic(reader)),
        "a push read back with GET": call(port, "GET", LOKI_PUSH, basic(writer)),
    }
    assert fake_store.seen == [], "a refused request reached Loki"
    assert all(status in (401, 403, 404) for status in refused.values()), refused
    assert refused["push without a credential"] == 401
    assert refused["push with a wrong password"] == 401
    assert refused["query as the writer"] == 403
    assert refused["push as the reader"] == 403

    tenant = {"X-Scope-OrgID": "payments"}
    assert call(port, "POST", LOKI_PUSH, {**basic(writer), **tenant}) == 200
    assert call(port, "GET", LOKI_QUERY, {**basic(reader), **tenant}) == 200
    assert call(port, "GET", "/loki/api/v1/label/namespace/values", basic(reader)) == 200
    assert call(port, "GET", "/") == 200, "the chart's readiness probe"
    assert [(method, path.split("?")[0]) for method, path, _ in fake_store.seen] == [
        ("POST", LOKI_PUSH),
        ("GET", "/loki/api/v1/query_range"),
        ("GET", "/loki/api/v1/label/namespace/values"),
    ]
    # The gateway passes the credential on: Loki's sidecar checks it again.
    assert [headers.get("Authorization") for _, _, headers in fake_store.seen] == [
        basic(writer)["Authorization"],
        basic(reader)["Authorization"],
        basic(reader)["Authorization"],
    ]
    assert fake_store.seen[0][2].get("X-Scope-OrgID") == "payments"


def test_lokis_sidecar_refuses_what_reaches_lokis_pod_without_a_credential(
    fake_store: FakeStore, run_proxy: Any
) -> None:
    """What a pod that bypasses the gateway meets on Loki's pod (the Service's port 3100): the same refusals; the
    chart's probes pass without a credential; nothing of the credential reaches Loki."""
    proxy = run_proxy(store_auth.loki_sidecar_proxy(), [fake_store.address])
    port = proxy.ports[0]
    writer, reader = store_auth.LOKI_WRITER, store_auth.LOKI_READER
    tenant = {"X-Scope-OrgID": "payments"}
    refused = {
        "push without a credential": call(port, "POST", LOKI_PUSH, tenant),
        "query without a credential": call(port, "GET", LOKI_QUERY, tenant),
        "push with a wrong password": call(port, "POST", LOKI_PUSH, {**basic(writer, "wrong"), **tenant}),
        "query as the writer": call(port, "GET", LOKI_QUERY, {**basic(writer), **tenant}),
        "push as the reader": call(port, "POST", LOKI_PUSH, {**basic(reader), **tenant}),
        "flush without a credential": call(port, "POST", "/flush"),
        "ring without a credential": call(port, "GET", "/ring"),
        "config as the reader": call(port, "GET", "/config", basic(reader)),
        "the gateway's health path": call(port, "GET", "/"),
    }
    assert fake_store.seen == [], "a refused request reached Loki"
    assert refused["push without a credential"] == 401
    assert refused["query without a credential"] == 401
    assert refused["push with a wrong password"] == 401
    assert refused["query as the writer"] == 403
    assert refused["push as the reader"] == 403
    assert all(status in (401, 403, 404) for status in refused.values()), refused

    assert call(port, "POST", LOKI_PUSH, {**basic(writer), **tenant}) == 200
    assert call(port, "GET", LOKI_QUERY, {**basic(reader), **tenant}) == 200
    for path in store_auth.LOKI_PROBE_PATHS:
        assert call(port, "GET", path) == 200, f"the chart's probe {path}"
    assert [(method, path.split("?")[0]) for method, path, _ in fake_store.seen] == [
        ("POST", LOKI_PUSH),
        ("GET", "/loki/api/v1/query_range"),
        *(("GET", path) for path in store_auth.LOKI_PROBE_PATHS),
    ]
    assert all("Authorization" not in headers for _, _, headers in fake_store.seen)
    assert fake_store.seen[0][2].get("X-Scope-OrgID") == "payments"


def test_lokis_gateway_in_front_of_its_sidecar_passes_the_pipelines_and_grafanas_credentials(
    fake_store: FakeStore, run_proxy: Any
) -> None:
    """The gateway and the sidecar chained as in the cluster: Fluent Bit's and Grafana's requests reach Loki
    through both, without their credential; nothing else does."""
    sidecar = run_proxy(store_auth.loki_sidecar_proxy(), [fake_store.address])
    gateway = run_proxy(store_auth.loki_proxy("observability"), [f"127.0.0.1:{sidecar.ports[0]}"])
    port = gateway.ports[0]
    writer, reader = store_auth.LOKI_WRITER, store_auth.LOKI_READER
    tenant = {"X-Scope-OrgID": "payments"}
    assert call(port, "POST", LOKI_PUSH, tenant) == 401
    assert call(port, "GET", LOKI_QUERY, {**basic(writer), **tenant}) == 403
    assert fake_store.seen == []
    assert call(port, "POST", LOKI_PUSH, {**basic(writer), **tenant}) == 200
    assert call(port, "GET", LOKI_QUERY, {**basic(reader), **tenant}) == 200
    assert [(method, path.split("?")[0]) for method, path, _ in fake_store.seen] == [
        ("POST", LOKI_PUSH),
        ("GET", "/loki/api/v1/query_range"),
    ]
    assert all("Authorization" not in headers for _, _, headers in fake_store.seen)
    assert all(headers.get("X-Scope-OrgID") == "payments" for _, _, headers in fake_store.seen)


def test_tempo_proxy_admits_only_grafanas_queries_on_its_http_port(fake_store: FakeStore, run_proxy: Any) -> None:
    proxy = run_proxy(store_auth.tempo_proxy(), [fake_store.address, "127.0.0.1:9"])
    port = proxy.ports[0]
    writer, reader = store_auth.TEMPO_WRITER, store_auth.TEMPO_READER
    trace = "/api/traces/0123456789abcdef0123456789abcdef"
    assert call(port, "GET", trace) == 401
    assert call(port, "GET", trace, basic(reader, "wrong")) == 401
    assert call(port, "GET", trace, basic(writer)) == 403
    assert call(port, "GET", "/status/config", basic(reader)) == 404
    assert call(port, "POST", "/shutdown", basic(reader)) == 404
    assert fake_store.seen == []
    assert call(port, "GET", trace, {**basic(reader), "X-Scope-OrgID": "payments"}) == 200
    assert call(port, "GET", "/api/search?q=%7B%7D", basic(reader)) == 200
    assert call(port, "GET", "/ready") == 200, "the chart's probes"
    assert [path.split("?")[0] for _, path, _ in fake_store.seen] == [trace, "/api/search", "/ready"]
    assert all("Authorization" not in headers for _, _, headers in fake_store.seen)


EXPORT = store_auth.OTLP_EXPORT_PATH


@pytest.fixture
def fake_grpc_store() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A gRPC server on 127.0.0.1 that answers any call with empty bytes and keeps each call's metadata."""
    seen: list[dict[str, str]] = []

    def export(request: bytes, context: grpc.ServicerContext) -> bytes:
        seen.append({key: str(value) for key, value in context.invocation_metadata()})
        return b""

    class Handler(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
            if details.method == EXPORT:
                return grpc.unary_unary_rpc_method_handler(export)
            return None

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Handler(),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", seen
    server.stop(grace=None)


def otlp_export(port: int, metadata: list[tuple[str, str]], method: str = EXPORT) -> grpc.StatusCode:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
        try:
            stub(b"", metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            return error.code()  # type: ignore[no-any-return, attr-defined]
    return grpc.StatusCode.OK


def test_tempo_proxy_admits_only_the_collectors_spans_on_its_otlp_port(
    fake_grpc_store: tuple[str, list[dict[str, str]]], run_proxy: Any
) -> None:
    upstream, seen = fake_grpc_store
    proxy = run_proxy(store_auth.tempo_proxy(), ["127.0.0.1:9", upstream])
    port = proxy.ports[1]
    writer, reader = store_auth.TEMPO_WRITER, store_auth.TEMPO_READER
    tenant = ("x-scope-orgid", "payments")

    def auth(client: Client, secret: str | None = None) -> tuple[str, str]:
        return ("authorization", basic(client, secret)["Authorization"])

    assert otlp_export(port, [tenant]) == grpc.StatusCode.UNAUTHENTICATED
    assert otlp_export(port, [tenant, auth(writer, "wrong")]) == grpc.StatusCode.UNAUTHENTICATED
    assert otlp_export(port, [tenant, auth(reader)]) == grpc.StatusCode.PERMISSION_DENIED
    assert otlp_export(port, [tenant, auth(writer)], "/grpc.health.v1.Health/Check") != grpc.StatusCode.OK
    assert seen == []
    # The collector sends the header its exporter is configured with, as the Secret holds it.
    collector = store_auth.client_secrets(KEY)[store_auth.client_secret(store_auth.COLLECTOR_HOLDER)]
    assert otlp_export(port, [tenant, ("authorization", collector[store_auth.AUTHORIZATION_KEY])]) == grpc.StatusCode.OK
    assert seen == [{"x-scope-orgid": "payments", **{k: v for k, v in seen[0].items() if k != "x-scope-orgid"}}]
    assert "authorization" not in {key for key, value in seen[0].items() if value}


def test_alertmanager_proxy_admits_only_alerts_from_the_two_prometheus(fake_store: FakeStore, run_proxy: Any) -> None:
    proxy = run_proxy(store_auth.alertmanager_proxy(), [fake_store.address])
    port = proxy.ports[0]
    platform, tenants = store_auth.ALERTMANAGER_WRITER, store_auth.ALERTMANAGER_TENANT_WRITER
    alerts = "/api/v2/alerts"
    assert call(port, "POST", alerts) == 401
    assert call(port, "POST", alerts, basic(platform, store_auth.password(KEY, tenants))) == 401
    assert call(port, "POST", "/api/v2/silences", basic(platform)) == 404, "a silence"
    assert call(port, "DELETE", "/api/v2/silence/x", basic(tenants)) == 404
    assert call(port, "POST", "/-/reload", basic(platform)) == 404
    assert call(port, "GET", alerts, basic(tenants)) == 403, "reading every tenant's alerts"
    assert call(port, "POST", "/-/ready") == 403, "an open path takes GET only"
    assert fake_store.seen == []
    assert call(port, "POST", alerts, basic(platform)) == 200
    assert call(port, "POST", alerts, basic(tenants)) == 200
    assert call(port, "GET", "/-/ready") == 200
    assert [(method, path) for method, path, _ in fake_store.seen] == [
        ("POST", alerts),
        ("POST", alerts),
        ("GET", "/-/ready"),
    ]


def test_every_proxy_configuration_of_the_platform_is_accepted_as_written(tmp_path: Path) -> None:
    """`nginx -t` on the configurations exactly as the plan writes them (IPv6 listeners included), with the paths
    moved into a scratch folder."""
    directory = Path(tempfile.mkdtemp(prefix="imaas-proxy-"))
    try:
        (directory / store_auth.HTPASSWD_KEY).write_text(store_auth.htpasswd(KEY, store_auth.CLIENTS))
        specs = (
            store_auth.loki_proxy("observability"),
            store_auth.loki_sidecar_proxy(),
            store_auth.tempo_proxy(),
            store_auth.alertmanager_proxy(),
        )
        for spec in specs:
            text = store_auth.nginx_config(spec)
            text = text.replace(store_auth.HTPASSWD_FILE, str(directory / store_auth.HTPASSWD_KEY))
            text = text.replace(f" {store_auth.PROXY_TEMP_DIR}/", f" {directory}/")
            # The Service name resolves only in the cluster.
            text = text.replace(f"{store_auth.loki_proxy('observability').listeners[0].upstream}", "127.0.0.1:3100")
            config = directory / "nginx.conf"
            config.write_text(text)
            result = subprocess.run(
                [nginx_binary(), "-t", "-p", str(directory), "-c", str(config), "-e", "stderr"],
                capture_output=True,
                text=True,
                check=False,
            )
            if "Address family not supported" in result.stderr and not os.path.exists("/proc/net/if_inet6"):
                pytest.skip("no IPv6 on this machine")
            assert result.returncode == 0, result.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)
