"""The `--base REF` rule: tenants and services never disappear, they are retired."""

from __future__ import annotations

import subprocess
from pathlib import Path

from imaas.errors import InputError, Problem, UsageError
from imaas.tenant_files import TENANT_SUFFIXES, TenantFile, read_tenant_bytes, tenant_paths
from imaas.yaml_source import display_path


def removal_problems(directory: Path, base: str, files: list[TenantFile]) -> list[Problem]:
    base_services = _tenants_at(directory, base)
    present = {path.stem for path in tenant_paths(directory)} if directory.is_dir() else set()
    current = {tenant_file.tenant.name: tenant_file for tenant_file in files}
    added = sorted(set(current) - set(base_services))
    problems = []
    for name, services in sorted(base_services.items()):
        if name not in present:
            renamed = f" (renamed to '{added[0]}'?)" if len(added) == 1 else ""
            message = f"tenant '{name}' was removed{renamed}; keep its file and set spec.lifecycle: retired instead"
            problems.append(Problem(display_path(directory / f"{name}.yaml"), 1, 1, "metadata.name", message))
        elif name in current:
            tenant_file = current[name]
            for service in sorted(services - {s.name for s in tenant_file.tenant.spec.services}):
                message = f"service '{service}' was removed; keep it and set its lifecycle: retired instead"
                problems.append(tenant_file.document.problem(("spec", "services"), message, key=True))
    return problems


def _git(directory: Path, *args: str, stdin: bytes | None = None) -> bytes:
    try:
        result = subprocess.run(["git", *args], cwd=directory, input=stdin, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("--base needs git, which is not installed") from None
    if result.returncode != 0:
        raise UsageError(f"git {args[0]}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _tenants_at(directory: Path, base: str) -> dict[str, set[str]]:
    """Tenant name -> service names, as the tenants folder was at revision `base`."""
    if not directory.is_dir():
        raise UsageError(f"{display_path(directory)}: tenants folder not found")
    _git(directory, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    listing = _git(directory, "ls-tree", "-z", "--name-only", base, "--", ".").decode()
    paths = [path for path in listing.split("\0") if path.endswith(TENANT_SUFFIXES)]
    if not paths:
        return {}
    batch = _git(directory, "cat-file", "--batch", stdin="".join(f"{base}:./{p}\n" for p in paths).encode())
    tenants: dict[str, set[str]] = {}
    for path, blob in zip(paths, _split_batch(batch), strict=True):
        stem = Path(path).stem
        try:
            tenant = read_tenant_bytes(blob, path).tenant
            tenants[stem] = {service.name for service in tenant.spec.services}
        except InputError:
            # A file that was already broken at the base still counts as a tenant, with no services known.
            tenants[stem] = set()
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
