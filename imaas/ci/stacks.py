"""The stacks the workflows run (DESIGN section 3), found in the `Pulumi.<cluster>.yaml` files and the tenant files
rather than listed in the workflows.

Each cluster has a shared stack, `<cluster>`, and a tenant stack `<cluster>.<tenant>` per tenant it manages, reading
the cluster's settings file. They are deployed in waves, each wave's stacks side by side, a wave after the one before
it has finished (a failed tenant stack stops nothing but itself):

1. every cluster's shared stack: the CRDs, Argo CD, the admission policies and the observability stack; on the
   cluster owning the shared resources also the GitHub OIDC provider, the published service template and the
   organisation's custom properties and rulesets;
2. the tenant stacks of the clusters owning global resources: the tenants' GitHub teams and repositories (generated
   from the template, marked with the properties), ECR repositories and CI roles (trusting that OIDC provider), and
   their namespaces, projects and Applications there;
3. the tenant stacks of the clusters that only host environments, which refer to those global resources by their
   derived names.

What a tenant stack needs of an earlier wave it reads by setting (the observability namespace, Argo CD's, the
template's repository, `githubOidcProviderArn` or the provider IAM names after the account), never by a `dependsOn`.

Which stacks a change touches: a tenant file, that tenant's stacks on every cluster (no other tenant's: a tenant's
resources read its own file alone, egress to tenant namespaces not depending on who names whom); anything else the
program reads (its code, a settings file, the template), every stack.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from imaas.checks.sharding import project_stacks
from imaas.inputs.problems import UsageError
from imaas.inputs.stack_file import tenant_stack
from imaas.inputs.tenant_files import TENANT_SUFFIXES, read_tenant_files
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant

SHARED_WAVE = 1
GLOBAL_TENANT_WAVE = 2
HOSTING_TENANT_WAVE = 3
WAVE_NAMES = {SHARED_WAVE: "shared", GLOBAL_TENANT_WAVE: "global", HOSTING_TENANT_WAVE: "hosting"}
"""The waves as the deploy workflow's jobs name them."""
MATRIX_LIMIT = 256
"""GitHub's most jobs in one matrix."""
# Files that change no stack: the documentation, and what the program does not read.
NO_STACK_PREFIXES = ("docs/", "bench/", "tests/", ".github/")
NO_STACK_SUFFIXES = (".md",)


@dataclass(frozen=True)
class StackEntry:
    name: str
    cluster: str
    tenant: str | None
    wave: int


@dataclass(frozen=True)
class StackMatrix:
    entries: list[StackEntry]

    @property
    def stacks(self) -> list[str]:
        return [entry.name for entry in self.entries]

    @property
    def shared(self) -> list[str]:
        return [entry.name for entry in self.entries if entry.tenant is None]

    def wave(self, number: int) -> list[str]:
        return [entry.name for entry in self.entries if entry.wave == number]

    def only(self, names: Iterable[str]) -> StackMatrix:
        chosen = set(names)
        return StackMatrix([entry for entry in self.entries if entry.name in chosen])

    def for_tenants(self, tenants: set[str]) -> StackMatrix:
        return StackMatrix([entry for entry in self.entries if entry.tenant in tenants])

    def batches(self, wave: int, limit: int = MATRIX_LIMIT) -> list[str]:
        """The wave's stacks as at most `limit` space-separated batches (one matrix job each), in order."""
        return [job["stacks"] for job in self.jobs([e for e in self.entries if e.wave == wave], limit)]

    @staticmethod
    def jobs(entries: list[StackEntry], limit: int = MATRIX_LIMIT) -> list[dict[str, str]]:
        """`entries` as at most `limit` matrix jobs, each a batch of stacks of one cluster (whose GitHub environment
        holds its credentials): `{"cluster": ..., "stacks": "a b c"}`, one stack per job while they fit."""
        clusters = sorted({entry.cluster for entry in entries})
        if not entries:
            return []
        room = max(1, limit - len(clusters))
        size = 1 if len(entries) <= limit else -(-len(entries) // room)
        jobs = []
        for cluster in clusters:
            names = [entry.name for entry in entries if entry.cluster == cluster]
            jobs += [
                {"cluster": cluster, "stacks": " ".join(names[index : index + size])}
                for index in range(0, len(names), size)
            ]
        return jobs

    def as_json(self, limit: int = MATRIX_LIMIT) -> dict[str, object]:
        # The keys the workflows read with fromJSON(); an empty list is skipped there, never an empty matrix.
        waves = (SHARED_WAVE, GLOBAL_TENANT_WAVE, HOSTING_TENANT_WAVE)
        return {
            "stacks": self.stacks,
            "shared": self.shared,
            "tenant": [entry.name for entry in self.entries if entry.tenant is not None],
            "waves": {str(wave): self.wave(wave) for wave in waves},
            # Deploys: each wave's jobs, a wave after the one before. Previews and drift checks: every stack at once.
            "jobs": {WAVE_NAMES[wave]: self.jobs([e for e in self.entries if e.wave == wave], limit) for wave in waves},
            "all": self.jobs(self.entries, limit),
        }


def managed(tenant: Tenant, settings: StackSettings) -> bool:
    """Whether a cluster manages `tenant` (a tenant stack there), as components/platform.py decides."""
    return settings.manages(tenant.name) and (
        settings.owns_global_resources or bool(settings.hosted(tenant.environments))
    )


def _tenants(directory: Path, only: set[str] | None) -> list[Tenant]:
    """The tenants of the files that can be read; with `only`, those tenants' files alone (a few of a thousand)."""
    # A broken file is left to validation, which refuses it.
    files = read_tenant_files(directory, only)[0]
    return sorted((file.tenant for file in files), key=lambda tenant: tenant.name)


def stack_matrix(project_dir: Path, tenants_dir: Path | None = None, only: set[str] | None = None) -> StackMatrix:
    """Every stack of the project in waves (raises InputError for an invalid settings file, as `imaas validate`
    does): every shared stack, and the tenant stacks of the tenant files that can be read (of the tenants `only`
    names, when given); a decommissioned tenant keeps its stack."""
    clusters = project_stacks(project_dir)
    entries = [StackEntry(name, name, None, SHARED_WAVE) for name in sorted(clusters)]
    tenants: list[Tenant] | None = None
    for cluster, settings in sorted(clusters.items()):
        directory = tenants_dir if tenants_dir is not None else project_dir / settings.tenants_dir
        if tenants is None:
            tenants = _tenants(directory, only)
        wave = GLOBAL_TENANT_WAVE if settings.owns_global_resources else HOSTING_TENANT_WAVE
        entries += [
            StackEntry(tenant_stack(cluster, tenant.name), cluster, tenant.name, wave)
            for tenant in tenants
            if managed(tenant, settings)
        ]
    return StackMatrix(sorted(entries, key=lambda entry: (entry.wave, entry.name)))


def changed_files(project_dir: Path, base: str) -> list[str]:
    """The project's files that differ from revision `base` (committed or not)."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise UsageError(f"git {args[0]}: {result.stderr.strip()}")
        return result.stdout

    git("rev-parse", "--verify", f"{base}^{{commit}}")
    return sorted({*git("diff", "--name-only", "--no-renames", base, "--", ".").splitlines(),
                   *git("ls-files", "--others", "--exclude-standard").splitlines()})  # fmt: skip


def changed_tenants(files: list[str], tenants_dir: str = "tenants") -> set[str] | None:
    """The tenants whose files `files` (paths relative to the project) change, or None when they change anything
    else the program reads (then every stack is touched); documentation and tests change no stack."""
    tenants: set[str] = set()
    prefix = tenants_dir.rstrip("/") + "/"
    for path in files:
        if path.startswith(prefix) and path.endswith(TENANT_SUFFIXES) and "/" not in path[len(prefix) :]:
            tenants.add(Path(path).stem)
        elif path.startswith(prefix) or path.startswith(NO_STACK_PREFIXES) or path.endswith(NO_STACK_SUFFIXES):
            continue
        else:
            return None
    return tenants


def affected(matrix: StackMatrix, files: list[str], tenants_dir: str = "tenants") -> StackMatrix:
    """The stacks whose inputs `files` change: a tenant file, that tenant's stacks on every cluster; documentation
    and tests, none; anything else, every stack."""
    tenants = changed_tenants(files, tenants_dir)
    return matrix if tenants is None else matrix.for_tenants(tenants)
