"""Tenant files as they were at a git revision, and which have changed since: what `--base` and
`--changed-since` compare with."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from imaas.inputs.problems import InputError, UsageError
from imaas.inputs.tenant_files import TENANT_SUFFIXES, read_tenant_bytes
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


def tenants_at(directory: Path, base: str) -> dict[str, BaseTenant]:
    """The tenants folder as it was at revision `base`, by tenant name (the file stem)."""
    _verify_commit(directory, base)
    listing = _git(directory, "ls-tree", "-z", "--name-only", base, "--", ".").decode()
    paths = [path for path in listing.split("\0") if path.endswith(TENANT_SUFFIXES)]
    if not paths:
        return {}
    batch = _git(directory, "cat-file", "--batch", stdin="".join(f"{base}:./{p}\n" for p in paths).encode())
    tenants: dict[str, BaseTenant] = {}
    for path, blob in zip(paths, _split_batch(batch), strict=True):
        tenant: Tenant | None
        try:
            tenant = read_tenant_bytes(blob, path).tenant
        except InputError:
            # A file that was already broken at the base still counts as a tenant, with no services known.
            tenant = None
        tenants.setdefault(Path(path).stem, BaseTenant(path, tenant))
    return tenants


def _split_batch(output: bytes) -> list[bytes]:
    """The contents of each object in `git cat-file --batch` output."""
    blobs, position = [], 0
    while position < len(output):
        header_end = output.index(b"\n", position)
        size = int(output[position:header_end].split()[2])
        blobs.append(output[header_end + 1 : header_end + 1 + size])
        position = header_end + 1 + size + 1
    return blobs
