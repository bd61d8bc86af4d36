"""What holds a tenant's work, and how the platform keeps it: the one definition that the guardrails, the diff,
the plan report and the Markdown report share."""

from __future__ import annotations

import re

from imaas.declarations import types

# What the program protects (which the policy pack can see, as well as the plan) ...
KEPT_TYPES = (types.NAMESPACE, types.ECR_REPOSITORY, types.GITHUB_REPOSITORY)
# ... and what else loses work when deleted: branches and claims are retained rather than protected.
DATA_HOLDING_TYPES = frozenset({*KEPT_TYPES, types.PERSISTENT_VOLUME_CLAIM, types.GITHUB_BRANCH})

# What fences a tenant's namespace and is always declared with it: gone while the protected namespace stays, its pods
# run unbounded and reachable by anyone. (A tenant's group RoleBindings go when its `access` lists empty: that takes
# access away, so it is no fence lost.)
NAMESPACE_FENCE_TYPES = frozenset({types.QUOTA, types.LIMIT_RANGE, types.NETWORK_POLICY, types.ROLE})

# The inputs whose change makes the provider replace the resource (delete it and create another), for the types
# the program declares. The providers' schemas do not carry this: it is the upstream providers' ForceNew, as
# tests/data/providers records it for pulumi-github 6.15.0 and pulumi-aws 7.51.1 (a test keeps the two equal), and
# for every Kubernetes object its name and namespace, and a binding's roleRef, which the API server never updates.
REPLACING_INPUTS: dict[str, tuple[str, ...]] = {
    types.GITHUB_ACTIONS_VARIABLE: ("variableName",),
    types.GITHUB_BRANCH: ("repository", "sourceBranch", "sourceSha"),
    types.GITHUB_REPOSITORY_FILE: ("branch", "file"),
    types.GITHUB_REPOSITORY_CUSTOM_PROPERTY: ("propertyName", "propertyType"),
    types.GITHUB_DEPLOY_KEY: ("key", "readOnly", "repository", "title"),
    types.PRIVATE_KEY: ("algorithm", "ecdsaCurve", "rsaBits"),
    types.ECR_REPOSITORY: ("encryptionConfigurations", "name"),
    types.ECR_LIFECYCLE_POLICY: ("policy", "repository"),
    types.ECR_REPOSITORY_POLICY: ("repository",),
    types.IAM_ROLE: ("name", "namePrefix", "path"),
    types.IAM_ROLE_POLICY: ("name", "namePrefix", "role"),
    types.IAM_OIDC_PROVIDER: ("url",),
    types.SECRETS_MANAGER_SECRET: ("name", "namePrefix"),
    types.SSO_PERMISSION_SET: ("instanceArn", "name"),
    types.SSO_PERMISSION_SET_POLICY: ("instanceArn", "permissionSetArn"),
    types.SSO_ACCOUNT_ASSIGNMENT: (
        "instanceArn",
        "permissionSetArn",
        "principalId",
        "principalType",
        "targetId",
        "targetType",
    ),
    types.ROLE_BINDING: ("roleRef",),
    types.CLUSTER_ROLE_BINDING: ("roleRef",),
}
KUBERNETES_REPLACING_INPUTS = ("metadata.name", "metadata.namespace")


def forces_replacement(resource_type: str, path: str) -> bool:
    """Whether changing the input at `path` (`a.b[0].c`) of a resource of `resource_type` replaces the resource."""
    field = re.sub(r"\[[^\]]*\]", "", path)
    replacing = REPLACING_INPUTS.get(resource_type, ())
    if resource_type.startswith(types.KUBERNETES_PACKAGE) and resource_type != types.HELM_RELEASE:
        replacing = (*replacing, *KUBERNETES_REPLACING_INPUTS)
    return any(field == name or field.startswith(f"{name}.") for name in replacing)


RETAINED = "left in place (retainOnDelete)"
"""What a report says of a resource that leaves the stack but stays where it is."""


def deletes_data(resource_type: str, protect: bool, retain_on_delete: bool) -> bool:
    """Whether deleting such a resource from the stack loses something: it is protected, or holds data and is not
    retained."""
    return protect or (resource_type in DATA_HOLDING_TYPES and not retain_on_delete)
