"""Reading a live cluster: the few API paths preflight needs, as plain JSON, through the official Kubernetes client
(`kubernetes` on PyPI) and the kubeconfig context a stack names (`kubernetes:context`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import urllib3
from kubernetes import config as kubeconfig
from kubernetes.client import ApiClient
from kubernetes.config.config_exception import ConfigException

REQUEST_TIMEOUT_SECONDS = 15


class Cluster(Protocol):
    """What a check reads: a path's JSON, or None where the cluster has nothing there (404)."""

    def get(self, path: str) -> Any: ...


class ClusterUnreachableError(Exception):
    """The API server did not answer, or refused the credentials: nothing can be said of the cluster."""


class UnreadableError(Exception):
    """The credentials may not read a path preflight needs (403)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"not allowed to read {path}: preflight needs read access to it")


class KubeconfigError(Exception):
    """The kubeconfig or its context cannot be used (a usage error)."""


class LiveCluster:
    """A cluster read through a kubeconfig context; every answer is cached for the run."""

    def __init__(self, client: ApiClient, context: str) -> None:
        self.client = client
        self.context = context
        self.server = client.configuration.host
        self._answers: dict[str, Any] = {}

    @classmethod
    def from_kubeconfig(cls, context: str | None, config_file: Path | None = None) -> LiveCluster:
        try:
            # The client's config module is untyped.
            path = str(config_file) if config_file else None
            contexts, current = kubeconfig.list_kube_config_contexts(path)  # type: ignore[no-untyped-call]
        except (ConfigException, OSError) as err:
            raise KubeconfigError(f"no usable kubeconfig: {err}") from None
        names = [entry["name"] for entry in contexts or []]
        name = context or (current or {}).get("name")
        if not name or name not in names:
            known = ", ".join(names) or "none"
            raise KubeconfigError(f"kubeconfig has no context '{name}' (contexts: {known})")
        try:
            client: ApiClient = kubeconfig.new_client_from_config(  # type: ignore[no-untyped-call]
                str(config_file) if config_file else None, context=name, persist_config=False
            )
        except (ConfigException, OSError) as err:
            raise KubeconfigError(f"context '{name}': {err}") from None
        return cls(client, name)

    def get(self, path: str) -> Any:
        if path not in self._answers:
            self._answers[path] = self._read(path)
        return self._answers[path]

    def _read(self, path: str) -> Any:
        resource, _, query = path.partition("?")
        query_params = [tuple(pair.split("=", 1)) for pair in query.split("&") if pair]
        method, url, headers, body, post = self.client.param_serialize(
            "GET",
            resource,
            query_params=query_params,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self.client.call_api(method, url, headers, body, post, _request_timeout=REQUEST_TIMEOUT_SECONDS)
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterUnreachableError(
                f"the API server {self.server} did not answer: {type(err).__name__}"
            ) from None
        status = response.status
        if status == 404:
            return None
        if status == 401:
            raise ClusterUnreachableError(
                f"the API server {self.server} refused the credentials of context {self.context}"
            )
        if status == 403:
            raise UnreadableError(resource)
        if status >= 300:
            raise ClusterUnreachableError(f"the API server {self.server} answered {status} for {resource}")
        try:
            return json.loads(response.response.data)
        except ValueError:
            raise ClusterUnreachableError(f"the API server {self.server} answered {resource} with no JSON") from None
