"""The credentials the observability stores check (imaas/declarations/store_auth.py): every client's and every proxy's
htpasswd, derived from `imaas:observabilityCredentialKey` inside `Output.apply`, so that they stay secret in the
state, the plan and the logs; and the configurations of the proxies beside Loki, Tempo and Alertmanager."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import naming, store_auth
from imaas.inputs.stack_file import OBSERVABILITY_CREDENTIAL_KEY_SETTING
from imaas.model.settings import CONFIG_NAMESPACE


def _all_secrets(key: str) -> dict[str, dict[str, str]]:
    return {**store_auth.client_secrets(key), **store_auth.htpasswd_secrets(key)}


def declare_store_credentials(namespace: str, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
    """One Secret per client (only what that client's pods mount) and per proxy, one ConfigMap per sidecar proxy."""
    # Read through Config so that it stays an Output marked secret, and with it everything derived from it.
    key = pulumi.Config(CONFIG_NAMESPACE).require_secret(OBSERVABILITY_CREDENTIAL_KEY_SETTING)
    labels = naming.platform_labels()
    declared: list[pulumi.Resource] = []
    everything = key.apply(_all_secrets)
    for name in [*store_auth.client_secrets(""), *store_auth.htpasswd_secrets("")]:
        declared.append(
            k8s.core.v1.Secret(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
                string_data=pulumi.Output.secret(everything[name]),
                opts=opts,
            )
        )
    sidecars = (
        ("loki", store_auth.loki_sidecar_proxy()),
        ("tempo", store_auth.tempo_proxy()),
        ("alertmanager", store_auth.alertmanager_proxy()),
    )
    for store, spec in sidecars:
        name = store_auth.proxy_config_map(store)
        declared.append(
            k8s.core.v1.ConfigMap(
                name,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace, labels=labels),
                data={store_auth.PROXY_CONFIG_KEY: store_auth.nginx_config(spec)},
                opts=opts,
            )
        )
    return declared
