"""Guardrails on what tenant services need at run time: every secret store, store role, writer and ExternalSecret
reaches its own tenant's path in its own environment only; every route, listener and certificate names its own
tenant's hosts only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from imaas.declarations import exposure, naming, secrets, types
from imaas.guardrails.framework import Context, Index, Resource
from imaas.model.tenant import Tenant


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return []  # not known yet (a preview's unknown value), or not JSON, which IAM refuses itself
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [statements] if isinstance(statements, dict) else list(statements)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_problems(document: Any, tenant: str, environment: str, actions: tuple[str, ...]) -> Iterator[str]:
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        if set(statement) - {"Sid", "Effect", "Action", "Resource"}:
            yield f"a statement has {sorted(set(statement) - {'Sid', 'Effect', 'Action', 'Resource'})}"
        extra = [action for action in _as_list(statement.get("Action")) if action not in actions]
        if extra:
            yield f"allows {extra}, beyond {list(actions)}"
        for resource in _as_list(statement.get("Resource")):
            if not isinstance(resource, str) or not secrets.within(resource, tenant, environment):
                yield f"reaches {resource}, outside imaas/{tenant}/*/{environment}/*"


def _store_roles(context: Context) -> dict[str, tuple[Tenant, str]]:
    # Each tenant environment of the stack is an owner of a namespace: walked once per check (Context's memo), not
    # once per guardrail, at a thousand tenants.
    return {secrets.store_role(tenant.name, env): (tenant, env) for tenant, env in context.namespace_owners().values()}


def _writer_roles(context: Context) -> dict[str, tuple[Tenant, str]]:
    return {secrets.writer_role(tenant.name, env): (tenant, env) for tenant, env in context.namespace_owners().values()}


def _trust_problems(role: Resource, namespace: str, context: Context) -> Iterator[str]:
    config = context.settings.tenant_secrets
    issuer, provider = (config.oidc_issuer, config.oidc_provider_arn) if config else (None, None)
    wanted = f"system:serviceaccount:{namespace}:{secrets.STORE_ACCOUNT}"
    for statement in _statements(role.inputs.get("assumeRolePolicy")):
        if statement.get("Effect") != "Allow":
            continue
        equals = (statement.get("Condition") or {}).get("StringEquals") or {}
        if set(statement.get("Condition") or {}) != {"StringEquals"} or equals.get(f"{issuer}:sub") != wanted:
            yield f"is trusted by more than {wanted}"
        if statement.get("Principal") != {"Federated": provider}:
            yield f"trusts {statement.get('Principal')}, not the cluster's OIDC provider"


def secrets_scoped(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    owners = context.namespace_owners()
    stores, writers = _store_roles(context), _writer_roles(context)
    for role in index(types.IAM_ROLE):
        name = role.inputs.get("name")
        if name in stores:
            tenant, environment = stores[name]
            yield from ((role, m) for m in _trust_problems(role, naming.namespace(tenant.name, environment), context))
        elif isinstance(name, str) and name.startswith(("imaas-store-", "imaas-write-")) and name not in writers:
            yield role, "is named as a secret store's or writer's role, but of no tenant environment of this stack"
    for policy in index(types.IAM_ROLE_POLICY):
        role_name = str(policy.inputs.get("role"))
        owner = stores.get(role_name) or writers.get(role_name)
        if owner is None:
            continue
        actions = secrets.READ_ACTIONS if role_name in stores else secrets.WRITE_ACTIONS
        for message in _policy_problems(policy.inputs.get("policy"), owner[0].name, owner[1], actions):
            yield policy, message
    for policy in index(types.SSO_PERMISSION_SET_POLICY):
        set_name = _permission_set_name(index, policy)
        owner = next(
            (
                (tenant, environment)
                for tenant, environment in context.namespace_owners().values()
                if secrets.permission_set(tenant.name, environment) == set_name
            ),
            None,
        )
        if owner is None:
            yield policy, "belongs to no tenant environment's permission set"
            continue
        for message in _policy_problems(
            policy.inputs.get("inlinePolicy"), owner[0].name, owner[1], secrets.WRITE_ACTIONS
        ):
            yield policy, message
    for store in index(types.SECRET_STORE):
        owner = owners.get(store.namespace or "")
        if owner is None:
            continue
        aws = (store.spec.get("provider") or {}).get("aws") or {}
        if set(store.spec.get("provider") or {}) != {"aws"} or set(aws) - {"service", "region", "auth"}:
            yield store, "reads with more than the namespace's own store account (a role to chain, another provider)"
        if aws.get("auth") != {"jwt": {"serviceAccountRef": {"name": secrets.STORE_ACCOUNT}}}:
            yield store, f"authenticates as something else than its namespace's {secrets.STORE_ACCOUNT} account"
    for account in index(types.SERVICE_ACCOUNT):
        owner = owners.get(account.namespace or "")
        if owner is None or (account.inputs.get("metadata") or {}).get("name") != secrets.STORE_ACCOUNT:
            continue
        arn = ((account.inputs.get("metadata") or {}).get("annotations") or {}).get(secrets.ROLE_ARN_ANNOTATION)
        wanted = secrets.store_role(owner[0].name, owner[1])
        if not isinstance(arn, str) or not arn.endswith(f":role/{wanted}"):
            yield account, f"names the role {arn}, not its namespace's {wanted}"
    for external in index(types.EXTERNAL_SECRET):
        owner = owners.get(external.namespace or "")
        if owner is None:
            continue
        spec = external.spec
        if spec.get("secretStoreRef") != {"name": secrets.STORE, "kind": "SecretStore"}:
            yield external, f"reads through {spec.get('secretStoreRef')}, not its namespace's own store"
        if spec.get("dataFrom"):
            yield external, "reads by search or extraction (dataFrom), which names no path"
        for item in spec.get("data") or []:
            key = (item.get("remoteRef") or {}).get("key", "")
            if not secrets.remote_key_within(str(key), owner[0].name, owner[1]):
                yield external, f"reads {key}, outside imaas/{owner[0].name}/<service>/{owner[1]}/"
    for secret in index(types.SECRETS_MANAGER_SECRET):
        if not secret.retain_on_delete and secret.retain_on_delete is not None:
            yield secret, "is not retained on delete: removing a name from a tenant file would delete its value"


def _permission_set_name(index: Index, policy: Resource) -> str | None:
    """The permission set an inline policy is declared for: by the names the program gives both (its ARN is not
    known before the set exists)."""
    return policy.name.removesuffix(WRITE_SUFFIX) if policy.name.endswith(WRITE_SUFFIX) else None


WRITE_SUFFIX = "-write"


def _under(host: Any, tenant: str, environment: str, suffix: str) -> bool:
    own = f".{tenant}.{environment}.{suffix}"
    return isinstance(host, str) and host.endswith(own) and "*" not in host and len(host) > len(own)


def routes_scoped(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    owners = context.namespace_owners()
    suffix = context.settings.ingress_host_suffix
    for route in index(types.HTTP_ROUTE):
        owner = owners.get(route.namespace or "")
        if owner is None:
            continue
        tenant, environment = owner[0].name, owner[1]
        hosts = route.spec.get("hostnames") or []
        if not hosts:
            yield route, "has no hostnames: it would take every host of its listeners"
        for host in hosts:
            if not _under(host, tenant, environment, suffix):
                yield route, f"names {host}, not a host under {tenant}.{environment}.{suffix}"
        for parent in route.spec.get("parentRefs") or [{}]:
            if not exposure.own_listener_set(parent, route.namespace or ""):
                yield route, f"attaches to {parent}, not its namespace's own ListenerSet"
    for listeners in index(types.LISTENER_SET):
        owner = owners.get(listeners.namespace or "")
        if owner is None:
            continue
        for listener in listeners.spec.get("listeners") or []:
            if not _under(listener.get("hostname"), owner[0].name, owner[1], suffix):
                yield listeners, f"listens for {listener.get('hostname')}, not a host of its tenant and environment"
    for certificate in index(types.CERTIFICATE):
        owner = owners.get(certificate.namespace or "")
        if owner is None:
            continue
        for name in certificate.spec.get("dnsNames") or [None]:
            if not _under(name, owner[0].name, owner[1], suffix):
                yield certificate, f"certifies {name}, not a host of its tenant and environment"
