"""What a tenant's services need at run time in one environment, declared in its namespace: the secrets they read
(a store of the namespace's own, its IAM role, an ExternalSecret and a Secrets Manager secret per name, and the way
in for the tenant's people to write the values), the private backends each may call, and the routes of the exposed
ones with their certificates."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from imaas.declarations import connections, exposure, naming, secrets
from imaas.model.settings import GATEWAY_NAMESPACE, SecretWriters, StackSettings
from imaas.model.tenant import Tenant


@dataclass(frozen=True)
class RuntimeArgs:
    tenant: Tenant
    environment: str
    namespace: str
    labels: dict[str, str]
    settings: StackSettings
    region: str
    secrets_operator: pulumi.Resource | None = None
    """External Secrets Operator's release, when the stack installs it: its CRDs come with it."""
    certificates_operator: pulumi.Resource | None = None
    """cert-manager's release, when the stack installs it: its CRDs come with it."""


def _custom(
    name: str, api_version: str, kind: str, args: RuntimeArgs, spec: dict[str, object], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        f"{args.namespace}-{kind.lower()}-{name}",
        api_version=api_version,
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=args.namespace, labels=args.labels),
        spec=spec,
        opts=opts,
    )


def _after(opts: pulumi.ResourceOptions, release: pulumi.Resource | None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[release] if release else []))


def declare_runtime(args: RuntimeArgs, opts: pulumi.ResourceOptions) -> None:
    _declare_secrets(args, opts)
    _declare_service_policies(args, opts)
    _declare_exposure(args, opts)


def _declare_secrets(args: RuntimeArgs, opts: pulumi.ResourceOptions) -> None:
    tenant, environment, settings = args.tenant, args.environment, args.settings
    services = secrets.services_with_secrets(tenant, environment)
    config = settings.tenant_secrets
    if not services or config is None:
        return  # a prerequisite names the missing setting before anything is declared
    tags = {naming.TENANT_LABEL: tenant.name, naming.ENVIRONMENT_LABEL: environment}
    role_name = secrets.store_role(tenant.name, environment)
    role = aws.iam.Role(
        role_name,
        name=role_name,
        description=f"The secret store of namespace {args.namespace}: reads imaas/{tenant.name}/*/{environment}/*",
        assume_role_policy=json.dumps(
            secrets.store_trust_policy(config.oidc_provider_arn, config.oidc_issuer, args.namespace)
        ),
        tags=tags,
        opts=opts,
    )
    aws.iam.RolePolicy(
        f"{role_name}-read",
        name="read-tenant-environment-secrets",
        role=role.name,
        policy=json.dumps(secrets.read_policy(tenant.name, environment)),
        opts=opts,
    )
    account = k8s.core.v1.ServiceAccount(
        f"{args.namespace}-{secrets.STORE_ACCOUNT}",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=secrets.STORE_ACCOUNT,
            namespace=args.namespace,
            labels=args.labels,
            annotations={secrets.ROLE_ARN_ANNOTATION: role.arn},
        ),
        # Nothing runs as this account: ESO asks the API server for its tokens.
        automount_service_account_token=False,
        opts=opts,
    )
    after_crds = _after(opts, args.secrets_operator)
    store = _custom(
        secrets.STORE,
        secrets.API_VERSION,
        "SecretStore",
        args,
        secrets.store_spec(args.region),
        pulumi.ResourceOptions.merge(after_crds, pulumi.ResourceOptions(depends_on=[account])),
    )
    for service in services:
        for name in service.secrets:
            key = secrets.path(tenant.name, service.name, environment, name)
            # The platform declares the secret, never its value; removing the name keeps it and its value.
            stored = aws.secretsmanager.Secret(
                key,
                name=key,
                description=f"{name} of service {service.name} of tenant {tenant.name} in {environment}: its value is "
                "written by the tenant's people, never by the platform",
                tags={**tags, naming.SERVICE_LABEL: service.name},
                opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(retain_on_delete=True)),
            )
            _custom(
                secrets.kubernetes_secret(service.name, name),
                secrets.API_VERSION,
                "ExternalSecret",
                args,
                secrets.external_secret_spec(tenant.name, service.name, environment, name),
                pulumi.ResourceOptions.merge(after_crds, pulumi.ResourceOptions(depends_on=[store, stored])),
            )
    _declare_writers(args, config.writers, opts, tags)


def _declare_writers(
    args: RuntimeArgs, writers: SecretWriters, opts: pulumi.ResourceOptions, tags: dict[str, str]
) -> None:
    """The way in for the tenant's own people: write and describe its values in this environment, nothing else."""
    tenant, environment = args.tenant, args.environment
    policy = json.dumps(secrets.write_policy(tenant.name, environment))
    if writers.mechanism == "roleMapping" and writers.saml_provider_arn is not None:
        name = secrets.writer_role(tenant.name, environment)
        role = aws.iam.Role(
            name,
            name=name,
            description=f"Tenant {tenant.name}'s people write its {environment} secrets (mapped by the identity "
            "provider from the tenant's groups)",
            assume_role_policy=json.dumps(secrets.saml_trust_policy(writers.saml_provider_arn)),
            tags=tags,
            opts=opts,
        )
        aws.iam.RolePolicy(
            f"{name}-write", name="write-tenant-environment-secrets", role=role.name, policy=policy, opts=opts
        )
        return
    if writers.instance_arn is None or writers.identity_store_id is None or writers.account_id is None:
        return
    name = secrets.permission_set(tenant.name, environment)
    permission_set = aws.ssoadmin.PermissionSet(
        name,
        name=name,
        instance_arn=writers.instance_arn,
        description=f"Write tenant {tenant.name}'s {environment} secrets",
        session_duration="PT1H",
        tags=tags,
        opts=opts,
    )
    aws.ssoadmin.PermissionSetInlinePolicy(
        f"{name}-write",
        instance_arn=writers.instance_arn,
        permission_set_arn=permission_set.arn,
        inline_policy=policy,
        opts=opts,
    )
    for group in tenant.spec.access.developers:
        found = aws.identitystore.get_group_output(
            identity_store_id=writers.identity_store_id,
            alternate_identifier=aws.identitystore.GetGroupAlternateIdentifierArgs(
                unique_attribute=aws.identitystore.GetGroupAlternateIdentifierUniqueAttributeArgs(
                    attribute_path="DisplayName", attribute_value=group
                )
            ),
            opts=pulumi.InvokeOutputOptions(parent=opts.parent),
        )
        aws.ssoadmin.AccountAssignment(
            f"{name}-{group}",
            instance_arn=writers.instance_arn,
            permission_set_arn=permission_set.arn,
            principal_type="GROUP",
            principal_id=found.group_id,
            target_type="AWS_ACCOUNT",
            target_id=writers.account_id,
            opts=opts,
        )


def _declare_service_policies(args: RuntimeArgs, opts: pulumi.ResourceOptions) -> None:
    gateway = GATEWAY_NAMESPACE if args.settings.exposure is not None else None
    for service in connections.services_with_policies(args.tenant, args.environment):
        spec = connections.service_policy_spec(service, gateway)
        if spec is None:
            continue
        name = connections.service_policy(service.name)
        k8s.networking.v1.NetworkPolicy(
            f"{args.namespace}-{name}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=name, namespace=args.namespace, labels={**args.labels, naming.SERVICE_LABEL: service.name}
            ),
            spec=spec,
            opts=opts,
        )


def _declare_exposure(args: RuntimeArgs, opts: pulumi.ResourceOptions) -> None:
    tenant, environment, settings = args.tenant, args.environment, args.settings
    services = exposure.exposed(tenant, environment)
    if not services or settings.exposure is None:
        return  # a prerequisite names the missing setting before anything is declared
    listeners = _custom(
        exposure.LISTENER_SET,
        exposure.API_VERSION,
        "ListenerSet",
        args,
        exposure.listener_set_spec(tenant, environment, settings),
        opts,
    )
    for service in services:
        _custom(
            exposure.certificate(service.name),
            exposure.CERT_MANAGER_API_VERSION,
            "Certificate",
            args,
            exposure.certificate_spec(service, tenant, environment, settings, settings.exposure.cluster_issuer),
            _after(opts, args.certificates_operator),
        )
        _custom(
            exposure.route(service.name),
            exposure.API_VERSION,
            "HTTPRoute",
            args,
            exposure.route_spec(service, tenant, environment, settings),
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[listeners])),
        )
