"""Promotion, as plain data: what the test and prod branches of every service repository require before a merge (the
service CI's check and the promotion gate's status, each pinned to the App that may post it), and the gate that posts
the status (imaas/incluster/promotion_gate.py), run in the observability namespace of each cluster hosting an
environment that is promoted from.

Why a program of the platform's and not an existing promotion engine: argoproj-labs/gitops-promoter gates on commit
statuses (Argo CD's health among them) but promotes between environment branches of its own (`environment/<env>`),
not the service template's dev/test/prod merges; Kargo verifies with Argo Rollouts analyses and promotes its own
Freight through its own Stages, writing to the repositories itself. Both would replace the template's promotion
instead of gating it, neither reads the alerts the platform already writes per service, and each is one more
controller with cluster-wide rights. The gate here reads what exists (Argo CD's Application status, the alerts),
writes only commit statuses as an App of its own, and is a page of standard-library Python like the Grafana
organisation job. No release of either is named: this compares their designs as their documentation describes them.
"""

from __future__ import annotations

import json
from typing import Any

from imaas.declarations import isolation, telemetry
from imaas.declarations.charts import KUBE_PROMETHEUS_STACK
from imaas.model.names import ENVIRONMENTS
from imaas.model.settings import StackSettings

GATE = "imaas-promotion-gate"
GATE_POD_LABELS = {"app.kubernetes.io/name": GATE}
SCRIPT_KEY = "promotion_gate.py"
CONFIG_KEY = "config.json"
PRIVATE_KEY_KEY = "private-key.pem"
SCRIPT_DIR = "/opt/imaas"
CONFIG_DIR = "/etc/imaas/gate"
KEY_DIR = "/etc/imaas/gate-key"
PROMOTES_TO_LABEL = "imaas.io/promotes-to"
"""On an Application: the environment its service is promoted to next, which the gate reads pull requests into."""
CONTEXT_PREFIX = "imaas/promotion-gate"
CI_CHECK = "Build and test"
"""The service template CI's job (templates/service/.github/workflows/ci.yaml, job `build`), which GitHub reports as a
check run of that name on every pull request."""
GITHUB_ACTIONS_APP_ID = 15368
"""GitHub Actions' App id (`GET /apps/github-actions`), the same for every organisation: a required check pinned to
it can only come from a workflow run, not from a status a token posts."""
GATED_BRANCHES = ("test", "prod")
GATE_INTERVAL_SECONDS = 60
"""How often the gate reads the Applications and the open pull requests: one organisation search per branch and
round, well within an installation's rate limit."""
PLATFORM_PROMETHEUS_URL_TEMPLATE = "http://{release}-prometheus.{namespace}.svc.{domain}:9090"


def gate_context(environment: str) -> str:
    """The status a pull request into branch `environment` needs from the gate."""
    return f"{CONTEXT_PREFIX}/{environment}"


def promotes_to(service_environments: list[str], environment: str) -> str | None:
    """The environment a service's `environment` is promoted to: the next of its own, if any."""
    ordered: list[str] = [e for e in ENVIRONMENTS if e in service_environments]
    position = ordered.index(environment)
    return ordered[position + 1] if position + 1 < len(ordered) else None


def required_checks(branch: str, gate_app_id: int) -> list[dict[str, Any]]:
    """The checks a merge into `branch` requires, each with the only App that may post it."""
    return [
        {"context": CI_CHECK, "integrationId": GITHUB_ACTIONS_APP_ID},
        {"context": gate_context(branch), "integrationId": gate_app_id},
    ]


def runs_gate(settings: StackSettings) -> bool:
    """Whether the stack's cluster runs the gate: it hosts an environment that is promoted from, and the stack
    declares the observability namespace the gate lives in."""
    return settings.observability.enabled and any(e in settings.environments for e in ENVIRONMENTS[:-1])


def dashboard_url(settings: StackSettings) -> str | None:
    """The service's dashboard in Grafana, for the gate to link from its status (`{tenant}`, `{from}` filled in)."""
    root = settings.observability.grafana.root_url
    if root is None:
        return None
    return f"{str(root).rstrip('/')}/d/imaas-{{tenant}}-wso2mi?from={{from}}&to=now"


def gate_config(settings: StackSettings) -> dict[str, Any]:
    """What the gate reads from its ConfigMap (no secret: the App's key is a Secret of its own)."""
    namespace = settings.observability.namespace
    endpoints = telemetry.Endpoints(namespace)
    app = settings.promotion.github_app
    domain = telemetry.CLUSTER_DOMAIN
    return {
        "argocdNamespace": settings.argocd_namespace,
        "githubApp": {"appId": app.app_id, "installationId": app.installation_id} if app else None,
        "soakSeconds": {env: minutes * 60 for env, minutes in sorted(settings.promotion.soak_minutes.items())},
        "prometheus": [
            endpoints.tenant_prometheus_url,
            PLATFORM_PROMETHEUS_URL_TEMPLATE.format(
                release=KUBE_PROMETHEUS_STACK.release, namespace=namespace, domain=domain
            ),
        ],
        "dashboardUrl": dashboard_url(settings),
        "intervalSeconds": GATE_INTERVAL_SECONDS,
    }


def gate_config_json(settings: StackSettings) -> str:
    return json.dumps(gate_config(settings), indent=2, sort_keys=True)


def gate_deployment_spec(image: str) -> dict[str, Any]:
    """One pod: the script and its configuration from the ConfigMap, the App's key from the Secret, and its own
    service account's token to read Applications."""
    env = {
        "GATE_CONFIG": f"{CONFIG_DIR}/{CONFIG_KEY}",
        "GATE_KEY_FILE": f"{KEY_DIR}/{PRIVATE_KEY_KEY}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    pod = {
        "serviceAccountName": GATE,
        "containers": [
            {
                "name": "gate",
                "image": image,
                "command": ["python", f"{SCRIPT_DIR}/{SCRIPT_KEY}"],
                "env": [{"name": name, "value": value} for name, value in env.items()],
                "volumeMounts": [
                    {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
                    {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                    {"name": "key", "mountPath": KEY_DIR, "readOnly": True},
                ],
                "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
                "securityContext": isolation.RESTRICTED_CONTAINER,
            }
        ],
        "volumes": [
            {"name": "script", "configMap": {"name": GATE, "items": [{"key": SCRIPT_KEY, "path": SCRIPT_KEY}]}},
            {"name": "config", "configMap": {"name": GATE, "items": [{"key": CONFIG_KEY, "path": CONFIG_KEY}]}},
            {"name": "key", "secret": {"secretName": GATE, "defaultMode": 0o400}},
        ],
    }
    return {
        "replicas": 1,
        # One gate at a time: two would post the same statuses twice.
        "strategy": {"type": "Recreate"},
        "selector": {"matchLabels": dict(GATE_POD_LABELS)},
        "template": {"metadata": {"labels": dict(GATE_POD_LABELS)}, "spec": pod},
    }


def application_reader_rules() -> list[dict[str, Any]]:
    """What the gate's account may do in Argo CD's namespace: read Applications, nothing else."""
    return [{"apiGroups": ["argoproj.io"], "resources": ["applications"], "verbs": ["get", "list"]}]
