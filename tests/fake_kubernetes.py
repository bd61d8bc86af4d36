"""An in-process stand-in for the few calls of the Kubernetes API the tenant-configuration job makes (core/v1
ConfigMaps of one namespace: list by label selector, get, merge-patch), on 127.0.0.1, with the job's RBAC: it may
list and get, and patch only the objects `writable` names (403 otherwise, as the API server answers). It records
every request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local_server import JsonHandler, serving

TOKEN = "not-a-real-token"


@dataclass
class Cluster:
    namespace: str
    config_maps: dict[str, dict[str, Any]] = field(default_factory=dict)
    writable: frozenset[str] = frozenset()
    requests: list[tuple[str, str]] = field(default_factory=list)

    def add(self, config_map: dict[str, Any]) -> None:
        self.config_maps[config_map["metadata"]["name"]] = config_map

    def data(self, name: str) -> dict[str, str]:
        return dict(self.config_maps[name].get("data") or {})


def _selected(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


def _handler(cluster: Cluster) -> type[JsonHandler]:
    prefix = ["api", "v1", "namespaces", cluster.namespace, "configmaps"]

    class Handler(JsonHandler):
        def handle_request(self, method: str) -> None:
            url = urlsplit(self.path)
            cluster.requests.append((method, self.path))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self.answer(401, {"kind": "Status", "code": 401})
            parts = [unquote(part) for part in url.path.strip("/").split("/")]
            if parts[: len(prefix)] != prefix:
                return self.answer(403, {"kind": "Status", "code": 403, "reason": "Forbidden"})
            rest = parts[len(prefix) :]
            if method == "GET" and not rest:
                selector = parse_qs(url.query).get("labelSelector", [""])[0]
                items = [
                    cm
                    for cm in cluster.config_maps.values()
                    if _selected((cm.get("metadata") or {}).get("labels") or {}, selector)
                ]
                return self.answer(200, {"kind": "ConfigMapList", "items": items})
            if len(rest) != 1:
                return self.answer(404, {"kind": "Status", "code": 404})
            (name,) = rest
            if method == "PATCH" and name not in cluster.writable:
                return self.answer(403, {"kind": "Status", "code": 403, "reason": "Forbidden"})
            if name not in cluster.config_maps:
                return self.answer(404, {"kind": "Status", "code": 404})
            if method == "GET":
                return self.answer(200, cluster.config_maps[name])
            if method == "PATCH":
                assert self.headers.get("Content-Type") == "application/merge-patch+json"
                patch = self.json_body()
                assert set(patch) == {"data"}, patch
                cluster.config_maps[name].setdefault("data", {}).update(patch["data"])
                return self.answer(200, cluster.config_maps[name])
            return self.answer(405, {"kind": "Status", "code": 405})

    return Handler


@contextmanager
def fake_kubernetes(cluster: Cluster) -> Iterator[str]:
    """A running fake on a local port: its URL."""
    with serving(_handler(cluster)) as url:
        yield url
