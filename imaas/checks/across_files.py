"""The rules of DESIGN section 3 that span tenant files."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from imaas.inputs.problems import Problem
from imaas.inputs.tenant_files import TenantFile
from imaas.inputs.yaml_source import Location
from imaas.model.quantity import exceeds
from imaas.model.settings import StackSettings
from imaas.spec import naming


@dataclass(frozen=True)
class DerivedName:
    kind: str
    value: str
    owner: str
    file: TenantFile
    location: Location


def cross_file_problems(
    files: list[TenantFile], settings: StackSettings | None, unreadable: set[str] = frozenset()
) -> list[Problem]:
    """Problems across `files`; `unreadable` names the tenants whose files have problems of their own, so that
    naming them in `allowFrom` is not reported twice."""
    problems: list[Problem] = []
    names = {tenant_file.tenant.name for tenant_file in files} | unreadable
    problems += _duplicate_tenants(files)
    problems += _reserved_names(files, settings)
    problems += _duplicate_services(files)
    problems += _derived_name_collisions(files, settings)
    problems += _shared_groups(files)
    for tenant_file in files:
        problems += _allow_from(tenant_file, names)
        problems += _service_environments(tenant_file)
        if settings is not None:
            problems += _quota_within_max(tenant_file, settings)
    return problems


def _duplicate_tenants(files: list[TenantFile]) -> Iterator[Problem]:
    first: dict[str, TenantFile] = {}
    for tenant_file in files:
        name = tenant_file.tenant.name
        if name in first:
            message = f"tenant '{name}' is already defined in {first[name].file}"
            yield tenant_file.document.problem(("metadata", "name"), message)
        first.setdefault(name, tenant_file)


def _reserved_names(files: list[TenantFile], settings: StackSettings | None) -> Iterator[Problem]:
    platform = (settings or _DEFAULT_SETTINGS).reserved_namespaces()
    for tenant_file in files:
        name = tenant_file.tenant.name
        if name in platform and name not in naming.RESERVED_TENANT_NAMES:
            yield tenant_file.document.problem(("metadata", "name"), f"'{name}' is a platform namespace of this stack")
        elif name in naming.RESERVED_TENANT_NAMES:
            yield tenant_file.document.problem(("metadata", "name"), f"'{name}' is reserved for the platform")
        elif name.startswith(naming.RESERVED_TENANT_PREFIX):
            message = (
                f"'{name}' is reserved: names starting with '{naming.RESERVED_TENANT_PREFIX}' belong to Kubernetes"
            )
            yield tenant_file.document.problem(("metadata", "name"), message)


def _duplicate_services(files: list[TenantFile]) -> Iterator[Problem]:
    for tenant_file in files:
        seen: set[str] = set()
        for index, service in enumerate(tenant_file.tenant.spec.services):
            if service.name in seen:
                message = f"service '{service.name}' is listed more than once"
                yield tenant_file.document.problem(("spec", "services", index, "name"), message)
            seen.add(service.name)


def _derived_names(tenant_file: TenantFile) -> Iterator[DerivedName]:
    tenant = tenant_file.tenant
    for environment in tenant.environments:
        yield DerivedName(
            "namespace",
            naming.namespace(tenant.name, environment),
            f"tenant '{tenant.name}'",
            tenant_file,
            ("metadata", "name"),
        )
    for index, service in enumerate(tenant.spec.services):
        owner = f"tenant '{tenant.name}', service '{service.name}'"
        location = ("spec", "services", index, "name")
        yield DerivedName(
            "GitHub repository", naming.github_repository(tenant.name, service.name), owner, tenant_file, location
        )
        yield DerivedName(
            "ECR repository", naming.ecr_repository(tenant.name, service.name), owner, tenant_file, location
        )
        for environment in tenant.service_environments(service):
            yield DerivedName(
                "Argo CD Application",
                naming.application(tenant.name, service.name, environment),
                owner,
                tenant_file,
                location,
            )


def _derived_name_collisions(files: list[TenantFile], settings: StackSettings | None) -> Iterator[Problem]:
    settings = settings or _DEFAULT_SETTINGS
    platform_names = {
        "namespace": (settings.reserved_namespaces(), "a platform namespace"),
        "GitHub repository": ({settings.template_repository}, "the platform's service template"),
    }
    taken: dict[tuple[str, str], DerivedName] = {}
    for tenant_file in files:
        # A tenant whose very name is reserved is told so once, by _reserved_names.
        if tenant_file.tenant.name.startswith(naming.RESERVED_TENANT_PREFIX):
            continue
        for derived in _derived_names(tenant_file):
            names, what = platform_names.get(derived.kind, ((), ""))
            if derived.value in names:
                yield tenant_file.document.problem(derived.location, f"{derived.kind} '{derived.value}' is {what}")
                continue
            if derived.kind == "namespace" and derived.value.startswith(naming.RESERVED_TENANT_PREFIX):
                message = (
                    f"namespace '{derived.value}' starts with '{naming.RESERVED_TENANT_PREFIX}', which Kubernetes keeps"
                )
                yield tenant_file.document.problem(derived.location, message)
                continue
            earlier = taken.setdefault((derived.kind, derived.value), derived)
            if earlier is derived or earlier.owner == derived.owner:
                continue
            message = (
                f"{derived.kind} '{derived.value}' of {derived.owner} collides with the one of {earlier.owner}"
                f" ({earlier.file.file})"
            )
            yield tenant_file.document.problem(derived.location, message)


def _shared_groups(files: list[TenantFile]) -> Iterator[Problem]:
    """An identity-provider group belongs to one tenant: bound in two, its people would cross the fence."""
    owner: dict[str, str] = {}
    for tenant_file in files:
        tenant = tenant_file.tenant
        for role in ("developers", "viewers"):
            for index, group in enumerate(getattr(tenant.spec.access, role)):
                first = owner.setdefault(group, tenant.name)
                if first != tenant.name:
                    message = f"group '{group}' is already given access by tenant '{first}'"
                    yield tenant_file.document.problem(("spec", "access", role, index), message)


def _allow_from(tenant_file: TenantFile, names: set[str]) -> Iterator[Problem]:
    tenant = tenant_file.tenant
    for index, other in enumerate(tenant.spec.network.allow_from):
        location = ("spec", "network", "allowFrom", index)
        if other == tenant.name:
            yield tenant_file.document.problem(location, "a tenant always reaches itself; do not list it")
        elif other not in names:
            yield tenant_file.document.problem(location, f"no tenant named '{other}'")


def _service_environments(tenant_file: TenantFile) -> Iterator[Problem]:
    tenant = tenant_file.tenant
    for index, service in enumerate(tenant.spec.services):
        for position, environment in enumerate(service.environments or []):
            if environment not in tenant.spec.environments:
                message = f"'{environment}' is not one of the tenant's environments ({', '.join(tenant.environments)})"
                yield tenant_file.document.problem(("spec", "services", index, "environments", position), message)


def _quota_within_max(tenant_file: TenantFile, settings: StackSettings) -> Iterator[Problem]:
    quota = tenant_file.tenant.spec.quota
    if quota is None:
        return
    limit = settings.quota_max
    for name, value in quota.model_dump(exclude_none=True).items():
        if exceeds(value, getattr(limit, name)):
            message = f"{value} is above this stack's quotaMax of {getattr(limit, name)}"
            yield tenant_file.document.problem(("spec", "quota", name), message)


_DEFAULT_SETTINGS = StackSettings(environments=["dev", "test", "prod"])
