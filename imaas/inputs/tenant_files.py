"""Reading tenant files, each on its own."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from imaas.inputs import tenant_cache
from imaas.inputs.messages import validate_document
from imaas.inputs.problems import InputError, Problem
from imaas.inputs.yaml_source import MAX_FILE_BYTES, YamlDocument, display_path, parse_yaml, read_yaml_file
from imaas.model.names import NAME_PATTERN
from imaas.model.tenant import Tenant

TENANT_SUFFIXES = (".yaml", ".yml")
# `<tenant>.yaml`: a tenant name (its pattern, at most 20 characters) and a suffix. A file of another name is refused
# before anything reads or prints it as it is: its name is the pull request author's text, which a log, an annotation
# or a comment would otherwise carry (a newline and `::error::` forge a workflow command).
TENANT_FILE_NAME = re.compile(NAME_PATTERN.removesuffix("$") + r"\.(yaml|yml)$")
MAX_TENANT_NAME = 20


class TenantFile:
    """A tenant file valid on its own: its tenant, and its document (where each value is written), which a file
    known by its content (imaas/inputs/tenant_cache.py) parses again only when a problem has to point into it."""

    __slots__ = ("_document", "_raw", "digest", "file", "tenant")

    def __init__(
        self, document: YamlDocument | None, tenant: Tenant, *, file: str = "", raw: bytes = b"", digest: str = ""
    ) -> None:
        self._document = document
        self._raw = raw
        self.file = document.file if document is not None else file
        self.tenant = tenant
        self.digest = digest
        """The file's digest (tenant_cache.file_digest), where it was read by content."""

    @property
    def raw(self) -> bytes:
        """The file's bytes, where it was read by content (else empty)."""
        return self._raw

    @property
    def document(self) -> YamlDocument:
        if self._document is None:
            self._document = parse_yaml(self._raw, self.file)
        return self._document

    def __repr__(self) -> str:
        return f"TenantFile({self.file!r}, {self.tenant.name!r})"


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
    return _listing(directory)[1]


def _listing(directory: Path) -> tuple[list[str], list[Path]]:
    """The folder's subfolders (but hidden ones) and its tenant files, in name order: the listing says which entry is
    which, with no stat of each of a thousand files."""
    folders, names = [], []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir():
                if not entry.name.startswith("."):
                    folders.append(entry.name)
            elif Path(entry.name).suffix in TENANT_SUFFIXES and entry.is_file():
                names.append(entry.name)
    return sorted(folders), [directory / name for name in sorted(names)]


_SNAPSHOT: dict[tuple[Path, Path, frozenset[str] | None], tuple[list[TenantFile], list[Problem]]] | None = None


@contextmanager
def folder_snapshot() -> Iterator[None]:
    """Within it, each folder is read once, as it was then: a fleet's worker, which plans and judges several stacks
    from one folder that does not change meanwhile, reads it at its first stack, not again for every stack and its
    guardrails."""
    global _SNAPSHOT
    previous, _SNAPSHOT = _SNAPSHOT, {}
    try:
        yield
    finally:
        _SNAPSHOT = previous


def parse_tenant(document: YamlDocument, stem: str) -> TenantFile:
    tenant = validate_document(Tenant, document)
    if tenant.name != stem:
        problem = document.problem(("metadata", "name"), f"must equal the file name '{stem}', got '{tenant.name}'")
        raise InputError([problem])
    return TenantFile(document, tenant)


def read_tenant_file(path: Path, file: str | None = None) -> TenantFile:
    """One tenant file, valid on its own, or InputError; `file`: its display_path, if known."""
    # A link would read whatever it points at (another file of the runner, /proc/self/environ): refused unread, as
    # read_yaml_file refuses it.
    if path.is_symlink():
        return parse_tenant(read_yaml_file(path), path.stem)
    file = file or display_path(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError:
        return parse_tenant(read_yaml_file(path, file), path.stem)
    if len(raw) > MAX_FILE_BYTES:
        # Said as read_yaml_file says it, with the file's size.
        return parse_tenant(read_yaml_file(path, file), path.stem)
    return read_tenant_bytes(raw, file, path.name)


def read_tenant_bytes(raw: bytes, file: str, name: str | None = None) -> TenantFile:
    """The tenant file `file` (as messages name it; its tenant is named as `name`, default the file's) holding
    `raw`: parsed once per content, in this process and, with a cache folder, across the check's processes."""
    name = name or Path(file).name
    digest = tenant_cache.file_digest(name, raw)
    known = tenant_cache.recall(digest)
    if isinstance(known, Tenant):
        return TenantFile(None, known, file=file, raw=raw, digest=digest)
    if isinstance(known, bytes):
        try:
            tenant = Tenant.model_validate_json(known, by_alias=True, by_name=False)
        except ValueError:
            pass  # an entry this code cannot read (it cannot be another content's: the digest says whose it is)
        else:
            tenant_cache.remember(digest, tenant, None)
            return TenantFile(None, tenant, file=file, raw=raw, digest=digest)
    parsed = parse_tenant(parse_yaml(raw, file), Path(name).stem)
    tenant_file = TenantFile(parsed.document, parsed.tenant, raw=raw, digest=digest)
    text = None
    if tenant_cache.folder() is not None:
        text = tenant_file.tenant.model_dump_json(by_alias=True).encode()
        # Kept only if read back it is this very tenant (a JSON form that lost anything would make another one).
        if Tenant.model_validate_json(text, by_alias=True, by_name=False) != tenant_file.tenant:
            text = None
    tenant_cache.remember(digest, tenant_file.tenant, text)
    return tenant_file


def read_tenant_files(directory: Path, only: set[str] | None = None) -> tuple[list[TenantFile], list[Problem]]:
    """Every tenant file of the folder that is valid on its own, and the problems of the others; with `only`, the
    files of those tenants alone (a few of a thousand: what a tenant stack's review reads)."""
    key = (directory.resolve(), Path.cwd(), frozenset(only) if only is not None else None)
    if _SNAPSHOT is not None and key in _SNAPSHOT:
        files, problems = _SNAPSHOT[key]
        return list(files), list(problems)
    found = _read_tenant_files(directory, only)
    if _SNAPSHOT is not None:
        _SNAPSHOT[key] = found
    return list(found[0]), list(found[1])


def _read_tenant_files(directory: Path, only: set[str] | None) -> tuple[list[TenantFile], list[Problem]]:
    if not directory.is_dir():
        return [], [Problem(display_path(directory), message="tenants folder not found")]
    files, problems = [], []
    tenant_cache.refresh()
    shown = display_path(directory)
    if only is None:
        # A file in a subfolder is never read: said as a problem, or the tenant a team meant to onboard would be
        # missing from every plan while validation passed. Hidden folders (.git, an editor's) are no tenants' place.
        folders, paths = _listing(directory)
        for folder in folders:
            message = f"is a folder; tenant files are read from {shown}/ only, not from subfolders"
            problems.append(Problem(f"{shown}/{shown_name(folder)}", message=message))
    else:
        named = (directory / f"{name}{suffix}" for name in sorted(only) for suffix in TENANT_SUFFIXES)
        paths = [path for path in named if path.is_file()]
    # What display_path says of each file that is no link, its folder resolved once.
    try:
        relative: Path | None = directory.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        relative = None
    for path in paths:
        if not is_tenant_file_name(path.name):
            problems.append(file_name_problem(directory, path.name))
            continue
        file = str(relative / path.name) if relative is not None else str(path)
        try:
            files.append(read_tenant_file(path, file))
        except InputError as err:
            problems.extend(err.problems)
    tenant_cache.flush()
    return files, problems
