"""Loading the tenants folder: every file on its own, then the rules that span files."""

from __future__ import annotations

from pathlib import Path

from imaas.checks.across_files import Members, cross_file_problems
from imaas.checks.against_base import base_problems
from imaas.inputs.problems import InputError, Problem
from imaas.inputs.tenant_files import TenantFile, is_tenant_file_name, read_tenant_files
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant


def check_tenants(
    directory: Path,
    settings: StackSettings | None = None,
    base: str | None = None,
    organisation: Members | None = None,
) -> tuple[list[TenantFile], list[Problem]]:
    """The tenant files that are valid on their own, and every problem: per file, across files, against `base`;
    `organisation`: the GitHub organisation's members, read where the settings list none."""
    files, problems = read_tenant_files(directory)
    unreadable = {Path(problem.file).stem for problem in problems if is_tenant_file_name(Path(problem.file).name)}
    problems.extend(cross_file_problems(files, settings, unreadable, organisation))
    if base is not None and directory.is_dir():
        problems.extend(base_problems(directory, base, files))
    return files, sorted(set(problems))


def load_tenants(
    directory: Path, settings: StackSettings | None = None, organisation: Members | None = None
) -> list[Tenant]:
    """All tenants of the folder, or InputError with every problem: never a partial list."""
    files, problems = check_tenants(directory, settings, organisation=organisation)
    if problems:
        raise InputError(problems)
    return [tenant_file.tenant for tenant_file in files]
