"""A service's Argo CD Applications, as plain data: one per environment the stack hosts, following that
environment's branch into the tenant's namespace, inside the tenant's project; and the repository Secret Argo CD
reads their repository with (components/argocd_repository.py)."""

from __future__ import annotations

from imaas.declarations import argocd, naming, promotion, workload
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant

# Deleting an Application (retiring its service) deletes what it deployed, instead of orphaning running pods.
CASCADE_FINALIZER = "resources-finalizer.argocd.argoproj.io"
# ... except the data: Argo CD neither deletes (with its Application) nor prunes (when gone from the branch) an object
# annotated so. Patched onto every claim the service's manifests hold, whatever the tenant writes there, since the
# Application is the platform's; a claim keeps its volume bound, whatever the storage class's reclaim policy.
KEEP_CLAIMS_PATCH = {
    "target": {"kind": "PersistentVolumeClaim"},
    "patch": "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: any\n  annotations:\n"
    "    argocd.argoproj.io/sync-options: Prune=false,Delete=false\n",
}


SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"


def repository_secret_labels(tenant: str, service: str) -> dict[str, str]:
    return {
        SECRET_TYPE_LABEL: "repository",
        naming.TENANT_LABEL: tenant,
        naming.SERVICE_LABEL: service,
        **naming.platform_labels(),
    }


def repository_secret_data(github_owner: str, tenant: str, service: str) -> dict[str, str]:
    """The repository Secret's fields but its key: the repository's URL alone (a `repository` Secret matches one
    URL, util/git SameURL, never a prefix), for the tenant's own Applications only (a Secret without a project would
    serve every project)."""
    return {
        "type": "git",
        "url": naming.repository_url(github_owner, tenant, service),
        "project": naming.app_project(tenant),
    }


def application_labels(tenant: Tenant, service: Service, environment: str) -> dict[str, str]:
    """The tenant's labels and, where the environment is promoted from, the one the promotion gate reads the
    Applications of environments promoted from (and pull requests into the next) by."""
    labels = naming.labels(tenant, environment, service.name)
    target = promotion.promotes_to(tenant.service_environments(service), environment)
    if target is not None:
        labels[promotion.PROMOTES_TO_LABEL] = target
    return labels


def application_spec(
    tenant: Tenant, service: Service, environment: str, settings: StackSettings, github_owner: str
) -> dict[str, object]:
    return {
        "project": naming.app_project(tenant.name),
        "source": {
            "repoURL": naming.repository_url(github_owner, tenant.name, service.name),
            "targetRevision": naming.branch(environment),
            "path": naming.deploy_path(environment),
            # Every service is made from one template: the prefix and label keep two services of a tenant, which
            # share its namespace, from claiming each other's objects. The patches set what the tenant file owns
            # (pod size, scaling bounds) over whatever the repository says.
            "kustomize": {
                "namePrefix": f"{service.name}-",
                "commonLabels": {naming.SERVICE_LABEL: service.name},
                "patches": [KEEP_CLAIMS_PATCH, *workload.workload_patches(tenant, service, environment, settings)],
            },
        },
        "destination": {
            "server": argocd.IN_CLUSTER_SERVER,
            "namespace": naming.namespace(tenant.name, environment),
        },
        "syncPolicy": {
            "automated": {"prune": True, "selfHeal": True},
            # The platform owns the namespace: an Application must never create or change it.
            "syncOptions": ["CreateNamespace=false", "PrunePropagationPolicy=foreground"],
            "retry": {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}},
        },
        "revisionHistoryLimit": 10,
    }
