"""Splitting tenants over several stacks (`tenantSelector`): every tenant's environment is hosted by exactly one
stack, every tenant's global resources are owned by exactly one stack, and one stack owns the shared resources."""

from __future__ import annotations

from pathlib import Path

from imaas.inputs.problems import Problem
from imaas.inputs.stack_file import read_stack_file, stack_file_path
from imaas.inputs.tenant_files import TenantFile
from imaas.inputs.yaml_source import display_path
from imaas.model.settings import StackSettings

STACK_FILE_GLOB = "Pulumi.*.yaml"


def project_stacks(project_dir: Path) -> dict[str, StackSettings]:
    """The settings of every stack of the project, by stack name (raises InputError for an invalid one)."""
    names = sorted(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in project_dir.glob(STACK_FILE_GLOB)
    )
    return {name: read_stack_file(project_dir, name).settings for name in names}


def shard_problems(project_dir: Path, stacks: dict[str, StackSettings], files: list[TenantFile]) -> list[Problem]:
    problems = []
    sharing = [name for name, settings in stacks.items() if settings.shares]
    if stacks and len(sharing) != 1:
        found = ", ".join(sharing) or "none"
        for name in sharing or sorted(stacks):
            path = display_path(stack_file_path(project_dir, name))
            message = f"exactly one stack must own the shared resources; found: {found}"
            problems.append(Problem(path, field="imaas:ownsSharedResources", message=message))
    owners = {name: settings for name, settings in stacks.items() if settings.owns_global_resources}
    for tenant_file in files:
        tenant = tenant_file.tenant
        duties = [(f"environment {env}", {n: s for n, s in stacks.items() if env in s.environments})
                  for env in tenant.environments]  # fmt: skip
        if owners:
            duties.append(("global resources", owners))
        for duty, candidates in duties:
            managing = sorted(name for name, settings in candidates.items() if settings.manages(tenant.name))
            if len(managing) != 1:
                by = f"stacks {', '.join(managing)}" if managing else "no stack (see their tenantSelector)"
                message = f"{duty} of tenant '{tenant.name}' is managed by {by}; exactly one must manage it"
                problems.append(tenant_file.document.problem(("metadata", "name"), message))
    return problems
