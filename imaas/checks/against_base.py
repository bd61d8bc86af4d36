"""The `--base REF` rules: tenants and services never disappear, they are retired; and only what already exists
can be retired, since retiring something new would create it only to archive it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

from imaas.declarations import naming
from imaas.inputs.problems import Problem
from imaas.inputs.revisions import BaseTenant, tenants_at
from imaas.inputs.tenant_files import TenantFile, tenant_paths
from imaas.inputs.yaml_source import display_path
from imaas.model.names import in_canonical_order


def base_problems(directory: Path, base: str, files: list[TenantFile]) -> list[Problem]:
    """Every problem of `files` compared with the tenants folder at revision `base`."""
    at_base = tenants_at(directory, base, files)
    return [
        *removal_problems(directory, at_base, files),
        *environment_removals(at_base, files),
        *unreviewed_promotions(at_base, files),
        *retired_on_arrival(at_base, files),
        *decommissioning_steps(at_base, files),
        *reactivations(at_base, files),
    ]


def reactivations(at_base: dict[str, BaseTenant], files: list[TenantFile]) -> Iterator[Problem]:
    """A service retired at the base stays retired. Retirement stopped declaring its branches, CI settings, access
    and CI role and left the branches and settings on GitHub: declared again, GitHub would refuse to create what is
    there already (a branch, the CI variable) halfway through `up`. A service is brought back under a new name, or by
    a platform admin who imports what retirement kept (docs/operators.md, Re-activating a retired service)."""
    for tenant_file in files:
        tenant, document = tenant_file.tenant, tenant_file.document
        known = at_base.get(tenant.name)
        if known is None or known.tenant is None:
            continue
        retired = {service.name for service in known.tenant.spec.services if service.lifecycle == "retired"}
        for index, service in enumerate(tenant.spec.services):
            if service.name in retired and service.lifecycle == "active":
                message = (
                    f"service '{service.name}' is retired at the base and must stay retired: its branches and CI "
                    "settings were kept on GitHub, which would refuse to create them again; add the service under a "
                    "new name, or ask a platform admin to re-activate it (docs/operators.md, Re-activating a retired "
                    "service)"
                )
                yield document.problem(("spec", "services", index, "name"), message)


def removal_problems(directory: Path, at_base: dict[str, BaseTenant], files: list[TenantFile]) -> list[Problem]:
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
        services = at_base[name].services if name in at_base else None
        for service in sorted(
            (services or frozenset()) - {service.name for service in tenant_file.tenant.spec.services}
        ):
            message = f"service '{service}' was removed; keep it and set its lifecycle: retired instead"
            problems.append(tenant_file.document.problem(("spec", "services"), message, key=True))
    return problems


def environment_removals(at_base: dict[str, BaseTenant], files: list[TenantFile]) -> Iterator[Problem]:
    """An environment may not leave a tenant, nor a service that stays active. A tenant's namespace is protected, so
    a real `up` deletes its quota, limit range, network policy and roles and then fails on the namespace, leaving it
    unfenced; a service's Application, once deleted, makes Argo CD delete what it deployed. Retiring the service
    first is the way out of an environment: its Applications go as the retirement says (claims are kept), and then
    its environments may shrink. A tenant's namespace goes only by a platform admin (docs/operators.md)."""
    for tenant_file in files:
        tenant, document = tenant_file.tenant, tenant_file.document
        known = at_base.get(tenant.name)
        if known is None or known.tenant is None:
            continue
        for environment in in_canonical_order(sorted(set(known.tenant.environments) - set(tenant.environments))):
            namespace = naming.namespace(tenant.name, environment)
            message = (
                f"environment '{environment}' was removed; namespace '{namespace}' is protected and would be left "
                "without its quota, network policy and roles: keep the environment (a platform admin decommissions "
                "a namespace, docs/operators.md)"
            )
            yield document.problem(("spec", "environments"), message, key=True)
        before = {service.name: known.tenant.service_environments(service) for service in known.tenant.spec.services}
        for index, service in enumerate(tenant.spec.services):
            if service not in tenant.active_services() or service.name not in before:
                continue
            # Environments that left the tenant too are reported once, for the tenant.
            removed = set(before[service.name]) & set(tenant.environments) - set(tenant.service_environments(service))
            for environment in in_canonical_order(sorted(removed)):
                message = (
                    f"environment '{environment}' was removed from service '{service.name}', which would delete its "
                    f"Application '{naming.application(tenant.name, service.name, environment)}' and everything it "
                    "deployed: set the service's lifecycle: retired first, then change its environments"
                )
                yield document.problem(("spec", "services", index, "name"), message)


def unreviewed_promotions(at_base: dict[str, BaseTenant], files: list[TenantFile]) -> Iterator[Problem]:
    """A new environment of an existing service starts from the environment below it, whose branch it is cut from
    (prod from test): a prod added beside dev alone would be cut from dev's head and deployed at once, with none of
    the review a merge into prod needs. A new service's branches are all cut from the template's content."""
    for tenant_file in files:
        tenant, document = tenant_file.tenant, tenant_file.document
        known = at_base.get(tenant.name)
        if known is None or known.tenant is None:
            continue
        before = {service.name: known.tenant.service_environments(service) for service in known.tenant.spec.services}
        for index, service in enumerate(tenant.spec.services):
            if service.name not in before:
                continue
            branches = naming.service_branches(tenant.service_environments(service))
            for lower, environment in itertools.pairwise(branches):
                if environment in before[service.name]:
                    continue
                if environment == "prod" and lower == "dev":
                    message = (
                        f"environment 'prod' of service '{service.name}' would be cut from dev's head and deployed "
                        "without review: add 'test' first and promote to it, then add 'prod' (it is cut from test)"
                    )
                elif lower != "dev" and lower not in before[service.name]:
                    message = (
                        f"environment '{environment}' of service '{service.name}' would be cut from '{lower}', which "
                        f"the service does not have yet: add '{lower}' first, promote to it, then add '{environment}'"
                    )
                else:
                    continue
                yield document.problem(("spec", "services", index, "name"), message)


def retired_on_arrival(at_base: dict[str, BaseTenant], files: list[TenantFile]) -> Iterator[Problem]:
    """A tenant or service new since the base may not be retired: with no state offline, the base revision is what
    tells that it exists. A new archived repository is refused by GitHub halfway (the provider keeps editing it
    after archiving it), and its registry and CI settings would be created for nothing."""
    for tenant_file in files:
        tenant, document = tenant_file.tenant, tenant_file.document
        known = at_base.get(tenant.name)
        if known is None and not tenant.active:
            message = (
                f"tenant '{tenant.name}' is new, so it cannot start {tenant.spec.lifecycle}: set spec.lifecycle:"
                " active, or add the file once the tenant needs it"
            )
            yield document.problem(("spec", "lifecycle"), message)
            continue
        existing = known.services if known is not None else frozenset()
        if existing is None:
            continue  # broken at the base: which services it had is unknown
        for index, service in enumerate(tenant.spec.services):
            if service.name in existing:
                continue
            if service.lifecycle == "retired":
                message = (
                    f"service '{service.name}' is new, so it cannot start retired: set its lifecycle: active,"
                    " or add it once it is needed"
                )
                yield document.problem(("spec", "services", index, "lifecycle"), message)
            elif not tenant.active:
                message = (
                    f"service '{service.name}' is new, and tenant '{tenant.name}' is retired: it gets no new services"
                )
                yield document.problem(("spec", "services", index, "name"), message)


def decommissioning_steps(at_base: dict[str, BaseTenant], files: list[TenantFile]) -> Iterator[Problem]:
    """A tenant is decommissioned only once it is retired (its workloads stopped and deployed so), and stays so: the
    platform has forgotten what it had, and what is left in place keeps its name, which a comeback would collide
    with (docs/operators.md, Decommissioning a tenant)."""
    for tenant_file in files:
        tenant, document = tenant_file.tenant, tenant_file.document
        known = at_base.get(tenant.name)
        if known is None or known.tenant is None:
            continue
        was = known.tenant.spec.lifecycle
        if tenant.decommissioned and was == "active":
            message = (
                f"tenant '{tenant.name}' is active at the base: set spec.lifecycle: retired first and let that be "
                "deployed, then decommission it"
            )
            yield document.problem(("spec", "lifecycle"), message)
        elif was == "decommissioned" and not tenant.decommissioned:
            message = (
                f"tenant '{tenant.name}' was decommissioned: the platform forgot its resources, which may still be "
                "in place under its names; onboard the business unit again under a new name"
            )
            yield document.problem(("spec", "lifecycle"), message)
