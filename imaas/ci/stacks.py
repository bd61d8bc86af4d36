"""The stacks the workflows run, found in the `Pulumi.*.yaml` files rather than listed in the workflows.

Adding a cluster or a shard is adding its stack file (and its GitHub environments): the workflows ask
`python -m imaas stacks` for the matrix. The order is the order of dependencies between stacks: the stack that owns
the shared resources (the GitHub OIDC provider and the service template) first, then the other stacks that own
global resources (GitHub repositories, ECR repositories, CI roles; they trust that OIDC provider), then the stacks
that only host environments and refer to those global resources by their derived names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from imaas.checks.sharding import project_stacks


@dataclass(frozen=True)
class StackMatrix:
    shared: list[str]
    """The stack owning the shared resources (exactly one in a valid project), deployed first."""
    global_: list[str]
    """The other stacks owning global resources, deployed next, side by side."""
    hosting: list[str]
    """The stacks that only host environments, deployed last, side by side."""

    @property
    def stacks(self) -> list[str]:
        return [*self.shared, *self.global_, *self.hosting]

    def as_json(self) -> dict[str, list[str]]:
        # The keys the workflows read with fromJSON(); an empty wave is skipped there, never an empty matrix.
        return {"stacks": self.stacks, "shared": self.shared, "global": self.global_, "hosting": self.hosting}


def stack_matrix(project_dir: Path) -> StackMatrix:
    """The project's stacks in waves (raises InputError for an invalid stack file, as `imaas validate` does)."""
    stacks = project_stacks(project_dir)
    shared = sorted(name for name, settings in stacks.items() if settings.shares)
    global_ = sorted(name for name, settings in stacks.items() if settings.owns_global_resources and name not in shared)
    hosting = sorted(set(stacks) - set(shared) - set(global_))
    return StackMatrix(shared, global_, hosting)
