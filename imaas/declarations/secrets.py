"""Tenant secrets as plain data: where each lives in AWS Secrets Manager, the store that reads one tenant
environment's secrets into its namespace, the ExternalSecrets that sync them, and who may read and write them.

External Secrets Operator (not the Secrets Store CSI driver): the service's container reads each secret as a
variable (Micro Integrator's `$env{NAME}` in deployment.toml) from an ordinary Kubernetes Secret, which ESO keeps in
step with Secrets Manager without the pod mounting anything; the CSI driver would need a volume in every pod, a
mount before the variable exists (`secretObjects` sync happens only while a pod mounts it) and a DaemonSet with the
node's reach. Each tenant namespace has its own SecretStore (never a ClusterSecretStore) that authenticates as the
namespace's own IAM role through IRSA: the role trusts one ServiceAccount of one namespace, and its policy reads
`imaas/<tenant>/*/<environment>/*` and nothing else.

Kept free of Pulumi so that the components, the guardrails and the tests share one definition.
"""

from __future__ import annotations

from typing import Any

from imaas.declarations import iam
from imaas.model.tenant import Service, Tenant

PATH_PREFIX = "imaas"
STORE = "imaas-secrets"
"""The SecretStore of each tenant namespace that has secrets."""
STORE_ACCOUNT = "imaas-secrets"
"""The ServiceAccount the store authenticates as: the platform's, annotated with the namespace's IAM role."""
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
"""Where ESO reads the role to assume for a ServiceAccount (providers/v1/aws/auth/auth.go, v2.9.0)."""
SECRET_KEY = "value"
"""The key of each synced Kubernetes Secret: a secret is one value."""
REFRESH_INTERVAL = "15m"
READ_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue")
WRITE_ACTIONS = ("secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue")
API_VERSION = "external-secrets.io/v1"
# The API groups of External Secrets Operator, whose objects only the platform writes in tenant namespaces.
API_GROUPS = ("external-secrets.io", "generators.external-secrets.io")


def path(tenant: str, service: str, environment: str, name: str) -> str:
    """A secret's name in AWS Secrets Manager (DESIGN section 4)."""
    return f"{PATH_PREFIX}/{tenant}/{service}/{environment}/{name}"


def environment_pattern(tenant: str, environment: str) -> str:
    """Every secret of one tenant in one environment, as an IAM resource: service and name are single path
    segments (names hold no `/`), and the tenant segment ends with `/`, so `payments` never matches `payments-eu`."""
    return f"arn:aws:secretsmanager:*:*:secret:{PATH_PREFIX}/{tenant}/*/{environment}/*"


OBJECT_PREFIX = "imaas-secret-"


def kubernetes_secret(service: str, name: str) -> str:
    """The Kubernetes Secret (and its ExternalSecret) of one secret of a service: under the platform's prefix, which
    no service may take (`imaas` is a reserved service name), and with a dot, which no service or secret name
    holds, so that `a-b` + `c` stays apart from `a` + `b-c`."""
    return f"{OBJECT_PREFIX}{service}.{name}"


def store_role(tenant: str, environment: str) -> str:
    """The IAM role the tenant namespace's store assumes (at most 37 characters). Its second segment, like the CI
    roles' `imaas-ci-`, is fixed, so no tenant name makes one kind's name another's."""
    return f"imaas-store-{tenant}-{environment}"


def writer_role(tenant: str, environment: str) -> str:
    """The IAM role the tenant's people write the environment's values as, under `roleMapping`."""
    return f"imaas-write-{tenant}-{environment}"


def permission_set(tenant: str, environment: str) -> str:
    """The permission set the tenant's people write the environment's values with, under `identityCenter` (at most
    31 characters, within the 32 a permission set's name may have)."""
    return f"imaas-{tenant}-{environment}"


def services_with_secrets(tenant: Tenant, environment: str) -> list[Service]:
    """The active services of `tenant` that read secrets in `environment`."""
    return [service for service in tenant.active_services_in(environment) if service.secrets]


def store_trust_policy(oidc_provider_arn: str, issuer: str, namespace: str) -> dict[str, Any]:
    """The store role's trust: the cluster's OIDC provider, for the one ServiceAccount of the one namespace."""
    return iam.federated_trust(
        "TheNamespacesSecretStore",
        oidc_provider_arn,
        "sts:AssumeRoleWithWebIdentity",
        {f"{issuer}:sub": f"system:serviceaccount:{namespace}:{STORE_ACCOUNT}", f"{issuer}:aud": iam.STS_AUDIENCE},
    )


def read_policy(tenant: str, environment: str) -> dict[str, Any]:
    return iam.grant("ReadTheTenantEnvironmentsSecrets", list(READ_ACTIONS), environment_pattern(tenant, environment))


def write_policy(tenant: str, environment: str) -> dict[str, Any]:
    """What the tenant's people may do: write and describe values under the tenant's own path in the environment;
    never create, delete, read or list secrets (the platform declares them; a value is read by the service)."""
    return iam.grant("WriteTheTenantEnvironmentsSecrets", list(WRITE_ACTIONS), environment_pattern(tenant, environment))


def saml_trust_policy(saml_provider_arn: str) -> dict[str, Any]:
    """A writer role's trust under `roleMapping`: whoever the identity provider maps to the role (its SAML
    assertion names the role; the provider maps the tenant's groups to it)."""
    return iam.federated_trust(
        "TheTenantsPeopleThroughTheIdentityProvider",
        saml_provider_arn,
        ["sts:AssumeRoleWithSAML", "sts:TagSession"],
        {"SAML:aud": "https://signin.aws.amazon.com/saml"},
    )


def store_spec(region: str) -> dict[str, Any]:
    """The SecretStore's spec: Secrets Manager in the stack's region, as the namespace's store account (no `role`
    to chain into: the account's own role is the whole reach)."""
    return {
        "provider": {
            "aws": {
                "service": "SecretsManager",
                "region": region,
                "auth": {"jwt": {"serviceAccountRef": {"name": STORE_ACCOUNT}}},
            }
        }
    }


def external_secret_spec(tenant: str, service: str, environment: str, name: str) -> dict[str, Any]:
    """One secret synced into the Kubernetes Secret the service's container reads. The Secret is owned by its
    ExternalSecret (gone with it); a value deleted in Secrets Manager leaves the last one in place."""
    return {
        "refreshInterval": REFRESH_INTERVAL,
        "secretStoreRef": {"name": STORE, "kind": "SecretStore"},
        "target": {
            "name": kubernetes_secret(service, name),
            "creationPolicy": "Owner",
            "deletionPolicy": "Retain",
        },
        "data": [{"secretKey": SECRET_KEY, "remoteRef": {"key": path(tenant, service, environment, name)}}],
    }


def container_variables(service: Service) -> list[dict[str, Any]]:
    """The variables of the service's container that carry its secrets, as the Application's patch sets them."""
    return [
        {
            "name": variable,
            "valueFrom": {"secretKeyRef": {"name": kubernetes_secret(service.name, name), "key": SECRET_KEY}},
        }
        for name, variable in service.secret_variables().items()
    ]


def within(resource: str, tenant: str, environment: str) -> bool:
    """Whether an IAM resource names only secrets of `tenant` in `environment`."""
    own = environment_pattern(tenant, environment)
    if resource == own:
        return True
    prefix = f"arn:aws:secretsmanager:*:*:secret:{PATH_PREFIX}/{tenant}/"
    if not resource.startswith(prefix):
        return False
    segments = resource.removeprefix(prefix).split("/")
    # <service>/<environment>/<name>: no wildcard where it could reach across a segment.
    return len(segments) == 3 and "*" not in "".join(segments[:2]) and segments[1] == environment


def remote_key_within(key: str, tenant: str, environment: str) -> bool:
    """Whether an ExternalSecret's remote key is a secret of `tenant` in `environment`."""
    parts = key.split("/")
    return len(parts) == 5 and parts[0] == PATH_PREFIX and parts[1] == tenant and parts[3] == environment and all(parts)
