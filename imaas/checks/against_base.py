"""The `--base REF` rule: tenants and services never disappear, they are retired."""

from __future__ import annotations

from pathlib import Path

from imaas.inputs.problems import Problem
from imaas.inputs.revisions import tenants_at
from imaas.inputs.tenant_files import TenantFile, tenant_paths
from imaas.inputs.yaml_source import display_path


def removal_problems(directory: Path, base: str, files: list[TenantFile]) -> list[Problem]:
    at_base = tenants_at(directory, base)
    present = {path.stem for path in tenant_paths(directory)}
    current = {tenant_file.tenant.name: tenant_file for tenant_file in files}
    removed = sorted(set(at_base) - present)
    added = sorted(set(current) - set(at_base))
    problems = []
    for name in removed:
        renamed = f" (renamed to '{added[0]}'?)" if len(added) == len(removed) == 1 else ""
        message = f"tenant '{name}' was removed{renamed}; keep its file and set spec.lifecycle: retired instead"
        problems.append(Problem(display_path(directory / at_base[name].path), 1, 1, "metadata.name", message))
    for name, tenant_file in current.items():
        services = at_base[name].services if name in at_base else frozenset()
        for service in sorted(services - {service.name for service in tenant_file.tenant.spec.services}):
            message = f"service '{service}' was removed; keep it and set its lifecycle: retired instead"
            problems.append(tenant_file.document.problem(("spec", "services"), message, key=True))
    return problems
