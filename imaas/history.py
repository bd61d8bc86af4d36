"""The `--base REF` rule: tenants and services never disappear, they are retired."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from imaas.errors import InputError, Problem, UsageError
from imaas.tenant_files import TENANT_SUFFIXES, TenantFile, read_tenant_bytes, tenant_paths
from imaas.yaml_source import display_path


@dataclass(frozen=True)
class BaseTenant:
    path: str
    """The file's path at the base, relative to the tenants folder."""
    services: frozenset[str]


def removal_problems(directory: Path, base: str, files: list[TenantFile]) -> list[Problem]:
    at_base = _tenants_at(directory, base)
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


def _tenants_at(directory: Path, base: str) -> dict[str, BaseTenant]:
    """The tenants folder as it was at revision `base`, by tenant name (the file stem)."""
    _verify_commit(directory, base)
    listing = _git(directory, "ls-tree", "-z", "--name-only", base, "--", ".").decode()
    paths = [path for path in listing.split("\0") if path.endswith(TENANT_SUFFIXES)]
    if not paths:
        return {}
    batch = _git(directory, "cat-file", "--batch", stdin="".join(f"{base}:./{p}\n" for p in paths).encode())
    tenants: dict[str, BaseTenant] = {}
    for path, blob in zip(paths, _split_batch(batch), strict=True):
        try:
            services = frozenset(service.name for service in read_tenant_bytes(blob, path).tenant.spec.services)
        except InputError:
            # A file that was already broken at the base still counts as a tenant, with no services known.
            services = frozenset()
        tenants.setdefault(Path(path).stem, BaseTenant(path, services))
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
