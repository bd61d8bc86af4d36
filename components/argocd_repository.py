"""Argo CD's credential for the tenants' service repositories, which are private or internal: one repo-creds
Secret whose URL is the organisation's prefix, so that it applies to every service repository Argo CD reads,
signing in as a GitHub App (`imaas:argocdGithubApp` and the secret `imaas:argocdGithubAppPrivateKey`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from imaas.inputs.stack_file import GITHUB_APP_KEY_SETTING
from imaas.model.settings import CONFIG_NAMESPACE, GithubApp
from imaas.spec import naming

CREDENTIAL_NAME = "imaas-github-repositories"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"


@dataclass(frozen=True)
class RepositoryCredentialArgs:
    app: GithubApp
    github_owner: str
    namespace: str
    """`imaas:argocdNamespace`: Argo CD reads credentials from its own namespace only."""


def declare_repository_credential(args: RepositoryCredentialArgs, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
    # Read through Config so that the key stays an Output marked secret: encrypted in the state, masked in logs.
    private_key = pulumi.Config(CONFIG_NAMESPACE).require_secret(GITHUB_APP_KEY_SETTING)
    return k8s.core.v1.Secret(
        "argocd-repository-credential",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=CREDENTIAL_NAME,
            namespace=args.namespace,
            labels={SECRET_TYPE_LABEL: "repo-creds", naming.MANAGED_BY_LABEL: "pulumi"},
        ),
        string_data={
            "type": "git",
            # A prefix: Argo CD uses the credential whose URL is the longest prefix of a repository's.
            "url": naming.owner_url(args.github_owner),
            "githubAppID": str(args.app.app_id),
            "githubAppInstallationID": str(args.app.installation_id),
            "githubAppPrivateKey": private_key,
        },
        opts=opts,
    )
