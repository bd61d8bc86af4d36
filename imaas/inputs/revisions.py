"""Tenant files as they were at a git revision, and which have changed since: what `--base` and
`--changed-since` compare with."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from imaas.inputs import tenant_cache
from imaas.inputs.problems import InputError, UsageError
from imaas.inputs.tenant_files import TENANT_SUFFIXES, TenantFile, read_tenant_bytes
from imaas.inputs.yaml_source import display_path
from imaas.model.tenant import Tenant


@dataclass(frozen=True)
class BaseTenant:
    path: str
    """The file's path at the base, relative to the tenants folder."""
    tenant: Tenant | None
    """The tenant as the file declared it at the base; None when the file was broken there, so that what it listed
    is unknown."""

    @property
    def services(self) -> frozenset[str] | None:
        """Every service the file listed at the base, active or retired; None when unknown."""
        return None if self.tenant is None else frozenset(service.name for service in self.tenant.spec.services)


def changed_tenants(directory: Path, base: str) -> set[str]:
    """The tenants whose files differ from revision `base`: changed, added, removed or not yet committed."""
    _verify_commit(directory, base)
    changed = _git(directory, "diff", "--name-only", "--no-renames", "--relative", base, "--", ".").decode()
    untracked = _git(directory, "ls-files", "--others", "--exclude-standard", "--", ".").decode()
    paths = [*changed.splitlines(), *untracked.splitlines()]
    return {Path(path).stem for path in paths if path.endswith(TENANT_SUFFIXES) and "/" not in path}


def _verify_commit(directory: Path, base: str) -> None:
    if not directory.is_dir():
        raise UsageError(f"{display_path(directory)}: tenants folder not found")
    try:
        _git(directory, "rev-parse", "--verify", f"{base}^{{commit}}")
    except UsageError as error:
        where = display_path(directory)
        raise UsageError(f"{base}: not a commit of the git repository of {where} ({error})") from None


def _git(directory: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(["git", *args], cwd=directory, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("--base needs git, which is not installed") from None
    if result.returncode != 0:
        raise UsageError(f"git {args[0]}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def tenants_at(directory: Path, base: str, read: Iterable[TenantFile] = ()) -> dict[str, BaseTenant]:
    """The tenants folder as it was at revision `base`, by tenant name (the file stem); `read`: files of the work
    tree just read, whose tenants are the base's where their bytes are the base's (not read or parsed again)."""
    _verify_commit(directory, base)
    listing = _git(directory, "ls-tree", "-z", base, "--", ".").decode()
    entries = []
    for entry in listing.split("\0"):
        info, _, path = entry.partition("\t")
        if path.endswith(TENANT_SUFFIXES):
            entries.append((path, info.split()))
    if not entries:
        return {}
    # A file the work tree holds as it was at the base (the same git object) is read there, and only the others
    # from git: in a pull request, most of a thousand.
    known = {Path(tenant_file.file).name: tenant_file for tenant_file in read if tenant_file.raw}
    same: dict[str, Tenant] = {}
    contents: dict[str, bytes] = {}
    for path, (mode, kind, object_id) in entries:
        if kind != "blob" or mode == "120000":
            continue
        tenant_file = known.get(path)
        if tenant_file is not None and _blob_id(tenant_file.raw, object_id) == object_id:
            same[path] = tenant_file.tenant
            continue
        raw = _same_in_work_tree(directory / path, object_id)
        if raw is not None:
            contents[path] = raw
    missing = [path for path, _ in entries if path not in contents and path not in same]
    tenant_cache.refresh()
    if missing:
        batch = _git(directory, "cat-file", "--batch", stdin="".join(f"{base}:./{p}\n" for p in missing).encode())
        contents.update(zip(missing, _split_batch(batch), strict=True))
    tenants: dict[str, BaseTenant] = {}
    for path, _ in entries:
        tenant: Tenant | None = same.get(path)
        try:
            tenant = tenant or read_tenant_bytes(contents[path], path).tenant
        except InputError:
            # A file that was already broken at the base still counts as a tenant, with no services known.
            tenant = None
        tenants.setdefault(Path(path).stem, BaseTenant(path, tenant))
    tenant_cache.flush()
    return tenants


def _same_in_work_tree(path: Path, object_id: str) -> bytes | None:
    """The bytes of `path` in the work tree if they are git's blob `object_id` (no link, no folder), else None."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        raw = path.read_bytes()
    except OSError:
        return None
    return raw if _blob_id(raw, object_id) == object_id else None


def _blob_id(raw: bytes, object_id: str) -> str:
    """Git's object id of a blob of `raw`, in the format of `object_id`: SHA-1 of its header and bytes (SHA-256 in a
    repository of that format)."""
    algorithm = hashlib.sha1 if len(object_id) == 40 else hashlib.sha256
    return algorithm(f"blob {len(raw)}\0".encode() + raw, usedforsecurity=False).hexdigest()


def _split_batch(output: bytes) -> list[bytes]:
    """The contents of each object in `git cat-file --batch` output."""
    blobs, position = [], 0
    while position < len(output):
        header_end = output.index(b"\n", position)
        size = int(output[position:header_end].split()[2])
        blobs.append(output[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
    return blobs
