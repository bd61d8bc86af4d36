"""One organisation webhook for a cluster's Argo CD, where GitHub can reach it: a push to any repository of the
organisation tells Argo CD at once, instead of every Application's repository being polled each reconciliation
period (which `observability.argocd.applications` sizes)."""

from __future__ import annotations

import pulumi
import pulumi_github as github

from imaas.inputs.stack_file import ARGOCD_WEBHOOK_SECRET_SETTING
from imaas.model.settings import CONFIG_NAMESPACE

WEBHOOK_PATH = "/api/webhook"


def declare_argocd_webhook(url: str, opts: pulumi.ResourceOptions) -> github.OrganizationWebhook:
    """Argo CD's `/api/webhook` at `url` (its public address), signed with the secret Argo CD checks
    (`webhook.github.secret` in argocd-secret, the same value as imaas:argocdWebhookSecret)."""
    secret = pulumi.Config(CONFIG_NAMESPACE).require_secret(ARGOCD_WEBHOOK_SECRET_SETTING)
    return github.OrganizationWebhook(
        "argocd-webhook",
        events=["push"],
        active=True,
        configuration=github.OrganizationWebhookConfigurationArgs(
            url=url.rstrip("/") + WEBHOOK_PATH, content_type="json", secret=secret, insecure_ssl=False
        ),
        opts=opts,
    )
