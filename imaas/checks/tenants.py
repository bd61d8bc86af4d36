"""Loading the tenants folder: every file on its own, then the rules that span files."""

from __future__ import annotations

import os
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


FolderKey = tuple[str, tuple[tuple[str, int, int, int], ...], str, Members | None]
_VALIDATED: dict[FolderKey, tuple[list[Tenant], list[Problem]]] = {}
"""The folders this process has validated whole, by the state of every entry in them: each stack planned in one
process (the fleet's workers plan many) checks the cross-file rules once, not once per stack."""


def _folder_key(directory: Path, settings: StackSettings | None, organisation: Members | None) -> FolderKey | None:
    """The folder's entries by name, size, modification time (ns) and inode, with what they are checked against;
    None where the folder cannot be listed (then nothing is cached)."""
    try:
        entries = tuple(
            sorted(
                (entry.name, (stat := entry.stat()).st_size, stat.st_mtime_ns, stat.st_ino)
                for entry in os.scandir(directory)
            )
        )
    except OSError:
        return None
    return (str(directory.resolve()), entries, settings.model_dump_json() if settings else "", organisation)


def load_tenants(
    directory: Path, settings: StackSettings | None = None, organisation: Members | None = None
) -> list[Tenant]:
    """All tenants of the folder, or InputError with every problem: never a partial list. Validated whole (every
    cross-file rule), once per process for the same files and settings."""
    key = _folder_key(directory, settings, organisation)
    known = _VALIDATED.get(key) if key is not None else None
    if known is None:
        files, problems = check_tenants(directory, settings, organisation=organisation)
        known = [tenant_file.tenant for tenant_file in files], problems
        if key is not None:
            _VALIDATED[key] = known
    tenants, problems = known
    if problems:
        raise InputError(problems)
    return list(tenants)
