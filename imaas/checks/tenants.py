"""Loading the tenants folder: every file on its own, then the rules that span files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from imaas.checks.across_files import RULES, Members, Rule, cross_file_problems
from imaas.checks.against_base import base_problems
from imaas.inputs import tenant_cache
from imaas.inputs.problems import InputError, Problem
from imaas.inputs.tenant_files import TenantFile, is_tenant_file_name, read_tenant_files
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant


def check_tenants(
    directory: Path,
    settings: StackSettings | None = None,
    base: str | None = None,
    organisation: Members | None = None,
    rules: Sequence[Rule] = RULES,
    *,
    whole_if_clean: bool = False,
    read: tuple[list[TenantFile], list[Problem]] | None = None,
) -> tuple[list[TenantFile], list[Problem]]:
    """The tenant files that are valid on their own, and every problem: per file, across files (by `rules`: all of
    them unless said), against `base`; `organisation`: the GitHub organisation's members, read where the settings
    list none. A folder already found valid whole against the same settings, by the very same bytes (a cache folder,
    imaas/inputs/tenant_cache.py), is not checked across files again: nothing could be found. `whole_if_clean`: the
    rules left out of `rules` are known to find nothing in these files, so that finding nothing is being valid whole;
    `read`: what read_tenant_files found in the folder, if it was just read."""
    files, problems = read if read is not None else read_tenant_files(directory)
    return files, _checked(directory, files, problems, settings, base, organisation, rules, whole_if_clean)


def _checked(
    directory: Path,
    files: list[TenantFile],
    problems: list[Problem],
    settings: StackSettings | None,
    base: str | None,
    organisation: Members | None,
    rules: Sequence[Rule] = RULES,
    whole_if_clean: bool = False,
) -> list[Problem]:
    whole = folder_digest(files, settings, organisation) if not problems else None
    if whole is None or not tenant_cache.is_valid(whole):
        unreadable = {Path(problem.file).stem for problem in problems if is_tenant_file_name(Path(problem.file).name)}
        problems = problems + cross_file_problems(files, settings, unreadable, organisation, rules)
        if whole is not None and not problems and (whole_if_clean or tuple(rules) == RULES):
            tenant_cache.mark_valid(whole)
    if base is not None and directory.is_dir():
        problems = problems + base_problems(directory, base, files)
    return sorted(set(problems))


def folder_digest(files: list[TenantFile], settings: StackSettings | None, organisation: Members | None) -> str | None:
    """The digest of a folder whose every entry is valid on its own (`files`), against `settings` and `organisation`;
    None where a file was not read by its content."""
    if any(not tenant_file.digest for tenant_file in files):
        return None
    # The folder the settings name is not theirs to check: the files are (a plan names it absolute, validate not).
    shown = settings.model_dump_json(exclude={"tenants_dir"}) if settings is not None else ""
    members = repr((sorted(organisation.logins), organisation.source)) if organisation is not None else ""
    return tenant_cache.folder_digest((tenant_file.digest for tenant_file in files), shown, members)


_VALIDATED: dict[str, list[Tenant]] = {}
"""The folders this process has found valid whole, by their digest: each stack planned in one process (the fleet's
workers plan many) checks the cross-file rules once, not once per stack."""


def load_tenants(
    directory: Path, settings: StackSettings | None = None, organisation: Members | None = None
) -> list[Tenant]:
    """All tenants of the folder, or InputError with every problem: never a partial list. Validated whole (every
    cross-file rule), once per process (and with a cache folder, once per check) for the same files and settings."""
    files, problems = read_tenant_files(directory)
    whole = folder_digest(files, settings, organisation) if not problems else None
    known = _VALIDATED.get(whole) if whole is not None else None
    if known is None:
        problems = _checked(directory, files, problems, settings, None, organisation)
        if problems:
            raise InputError(problems)
        known = [tenant_file.tenant for tenant_file in files]
        if whole is not None:
            _VALIDATED[whole] = known
    return list(known)
