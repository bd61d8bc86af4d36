"""What holds a tenant's work, and how the platform keeps it: the one definition that the guardrails, the diff,
the plan report and the Markdown report share."""

from __future__ import annotations

from imaas.spec import types

# What the program protects (which the policy pack can see, as well as the plan) ...
KEPT_TYPES = (types.NAMESPACE, types.ECR_REPOSITORY, types.GITHUB_REPOSITORY)
# ... and what else loses work when deleted: branches and claims are retained rather than protected.
DATA_HOLDING_TYPES = frozenset({*KEPT_TYPES, types.PERSISTENT_VOLUME_CLAIM, types.GITHUB_BRANCH})

# What fences a tenant's namespace and is always declared with it: gone while the protected namespace stays, its pods
# run unbounded and reachable by anyone. (A tenant's group RoleBindings go when its `access` lists empty: that takes
# access away, so it is no fence lost.)
NAMESPACE_FENCE_TYPES = frozenset({types.QUOTA, types.LIMIT_RANGE, types.NETWORK_POLICY, types.ROLE})

RETAINED = "left in place (retainOnDelete)"
"""What a report says of a resource that leaves the stack but stays where it is."""


def deletes_data(resource_type: str, protect: bool, retain_on_delete: bool) -> bool:
    """Whether deleting such a resource from the stack loses something: it is protected, or holds data and is not
    retained."""
    return protect or (resource_type in DATA_HOLDING_TYPES and not retain_on_delete)
