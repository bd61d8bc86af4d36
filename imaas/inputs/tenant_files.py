"""Reading tenant files, each on its own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from imaas.inputs.messages import validate_document
from imaas.inputs.problems import InputError, Problem
from imaas.inputs.yaml_source import YamlDocument, display_path, parse_yaml, read_yaml_file
from imaas.model.names import NAME_PATTERN
from imaas.model.tenant import Tenant

TENANT_SUFFIXES = (".yaml", ".yml")
# `<tenant>.yaml`: a tenant name (its pattern, at most 20 characters) and a suffix. A file of another name is refused
# before anything reads or prints it as it is: its name is the pull request author's text, which a log, an annotation
# or a comment would otherwise carry (a newline and `::error::` forge a workflow command).
TENANT_FILE_NAME = re.compile(NAME_PATTERN.removesuffix("$") + r"\.(yaml|yml)$")
MAX_TENANT_NAME = 20


@dataclass(frozen=True)
class TenantFile:
    document: YamlDocument
    tenant: Tenant

    @property
    def file(self) -> str:
        return self.document.file


def shown_name(name: str) -> str:
    """A file name that may be anyone's text, as text that prints inertly: every character outside printable ASCII
    (line breaks, controls, bidirectional marks, look-alikes) as its escape, and backslashes doubled."""
    return ascii(name)[1:-1]


def is_tenant_file_name(name: str) -> bool:
    return TENANT_FILE_NAME.fullmatch(name) is not None and len(Path(name).stem) <= MAX_TENANT_NAME


def file_name_problem(directory: Path, name: str) -> Problem:
    message = (
        f"'{shown_name(name)}' is not a tenant file name: name it <tenant>.yaml, the tenant's name (2 to "
        f"{MAX_TENANT_NAME} lower-case letters, digits and single dashes, starting with a letter)"
    )
    return Problem(f"{display_path(directory)}/", message=message)


def tenant_paths(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.suffix in TENANT_SUFFIXES and path.is_file())


def parse_tenant(document: YamlDocument, stem: str) -> TenantFile:
    tenant = validate_document(Tenant, document)
    if tenant.name != stem:
        problem = document.problem(("metadata", "name"), f"must equal the file name '{stem}', got '{tenant.name}'")
        raise InputError([problem])
    return TenantFile(document, tenant)


def read_tenant_file(path: Path) -> TenantFile:
    try:
        status = path.stat()
    except OSError:
        return parse_tenant(read_yaml_file(path), path.stem)
    # One `imaas plan` reads the folder up to three times (partial-plan focus, the program, the guardrails).
    # Absolute, not resolved: a link must reach read_yaml_file as a link, which refuses it.
    return _read_unchanged_file(path.absolute(), Path.cwd(), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=8192)
def _read_unchanged_file(path: Path, cwd: Path, mtime_ns: int, size: int) -> TenantFile:
    """A file's parse, reused while its modification time and size stay the same (and the current folder, which
    its problems' file names are relative to); problems are raised again each time, not kept."""
    return parse_tenant(read_yaml_file(path), path.stem)


def read_tenant_bytes(raw: bytes, file: str) -> TenantFile:
    return parse_tenant(parse_yaml(raw, file), Path(file).stem)


def read_tenant_files(directory: Path) -> tuple[list[TenantFile], list[Problem]]:
    """Every tenant file of the folder that is valid on its own, and the problems of the others."""
    if not directory.is_dir():
        return [], [Problem(display_path(directory), message="tenants folder not found")]
    files, problems = [], []
    # A file in a subfolder is never read: said as a problem, or the tenant a team meant to onboard would be
    # missing from every plan while validation passed. Hidden folders (.git, an editor's) are no tenants' place.
    for folder in sorted(path for path in directory.iterdir() if path.is_dir() and not path.name.startswith(".")):
        message = f"is a folder; tenant files are read from {display_path(directory)}/ only, not from subfolders"
        problems.append(Problem(f"{display_path(directory)}/{shown_name(folder.name)}", message=message))
    for path in tenant_paths(directory):
        if not is_tenant_file_name(path.name):
            problems.append(file_name_problem(directory, path.name))
            continue
        try:
            files.append(read_tenant_file(path))
        except InputError as err:
            problems.extend(err.problems)
    return files, problems
