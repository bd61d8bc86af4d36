"""Reading tenant files, each on its own."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from imaas.inputs.messages import validate_document
from imaas.inputs.problems import InputError, Problem
from imaas.inputs.yaml_source import YamlDocument, display_path, parse_yaml, read_yaml_file
from imaas.model.tenant import Tenant

TENANT_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class TenantFile:
    document: YamlDocument
    tenant: Tenant

    @property
    def file(self) -> str:
        return self.document.file


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
        problems.append(Problem(display_path(folder), message=message))
    for path in tenant_paths(directory):
        try:
            files.append(read_tenant_file(path))
        except InputError as err:
            problems.extend(err.problems)
    return files, problems
