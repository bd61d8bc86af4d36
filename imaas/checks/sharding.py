"""Splitting tenants over several clusters (`tenantSelector`): every tenant's environment is hosted by exactly one
cluster, every tenant's global resources are owned by exactly one cluster, one cluster owns the shared resources,
and no two settings files describe the same cluster (its `kubernetes:context`): a cluster's shared objects belong to
exactly one shared stack, and what used to be shards of one cluster are its tenant stacks (DESIGN section 3)."""

from __future__ import annotations

from pathlib import Path

from imaas.inputs.problems import Problem
from imaas.inputs.stack_file import read_stack_file, stack_file_path
from imaas.inputs.tenant_files import TenantFile
from imaas.inputs.yaml_source import display_path
from imaas.model.settings import StackSettings

STACK_FILE_GLOB = "Pulumi.*.yaml"


CONTEXT_KEY = "kubernetes:context"


def cluster_names(project_dir: Path) -> list[str]:
    """The clusters of the project: one per `Pulumi.<cluster>.yaml` (a `Pulumi.<cluster>.<tenant>.yaml` that
    `pulumi stack init` may leave behind is no cluster's: tenant stacks read their cluster's file)."""
    names = (path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in project_dir.glob(STACK_FILE_GLOB))
    return sorted(name for name in names if name and "." not in name)


def project_stacks(project_dir: Path) -> dict[str, StackSettings]:
    """The settings of every cluster of the project, by its shared stack's name (raises InputError for an invalid
    one)."""
    return {name: read_stack_file(project_dir, name).settings for name in cluster_names(project_dir)}


def same_cluster_problems(project_dir: Path) -> list[Problem]:
    """Two settings files on one Kubernetes context would both declare that cluster's shared objects (Helm releases,
    the observability namespace, the admission policies), each with its own values: refused."""
    by_context: dict[str, list[str]] = {}
    for name in cluster_names(project_dir):
        context = read_stack_file(project_dir, name).config.get(CONTEXT_KEY)
        if context:
            by_context.setdefault(context, []).append(name)
    problems = []
    for context, names in sorted(by_context.items()):
        if len(names) > 1:
            for name in names:
                message = (
                    f"{CONTEXT_KEY} '{context}' is also the cluster of {', '.join(n for n in names if n != name)}: "
                    "one cluster has one shared stack; split its tenants into tenant stacks, not settings files"
                )
                problems.append(Problem(display_path(stack_file_path(project_dir, name)), field=CONTEXT_KEY,
                                        message=message))  # fmt: skip
    return problems


def shard_problems(project_dir: Path, stacks: dict[str, StackSettings], files: list[TenantFile]) -> list[Problem]:
    problems = same_cluster_problems(project_dir)
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
