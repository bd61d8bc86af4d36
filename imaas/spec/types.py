"""The type tokens of what the program declares, as the engine and a plan's URNs name them.

Component tokens are part of every child's URN: renaming one would make Pulumi replace everything beneath it, so
they never change. A component class is named after its token: the module part (left out for `index`) then the
type, with `Resources` added where that name is a model's (`Tenant`, `Service`): `imaas:tenant:Environment` is
`TenantEnvironment`, `imaas:index:Tenant` is `TenantResources`.
"""

from __future__ import annotations

# The platform's own components.
PLATFORM = "imaas:index:Platform"
OBSERVABILITY = "imaas:index:Observability"
ARGO_CD = "imaas:index:ArgoCd"
METRICS_SERVER = "imaas:index:MetricsServer"
DELIVERY_FOUNDATION = "imaas:index:DeliveryFoundation"
TENANT = "imaas:index:Tenant"
SERVICE = "imaas:index:Service"
TENANT_ENVIRONMENT = "imaas:tenant:Environment"
TENANT_OBSERVABILITY_VIEW = "imaas:tenant:ObservabilityView"
GRAFANA_TENANCY = "imaas:index:GrafanaTenancy"
ADMISSION_POLICIES = "imaas:index:AdmissionPolicies"

# Provider resources the guardrails and the diff look at.
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
PERSISTENT_VOLUME_CLAIM = "kubernetes:core/v1:PersistentVolumeClaim"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
SECRET = "kubernetes:core/v1:Secret"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role"
ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"
CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole"
CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"
ADMISSION_POLICY = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy"
ADMISSION_POLICY_BINDING = "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding"
PRIORITY_CLASS = "kubernetes:scheduling.k8s.io/v1:PriorityClass"
POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor"
PROMETHEUS = "kubernetes:monitoring.coreos.com/v1:Prometheus"
APP_PROJECT = "kubernetes:argoproj.io/v1alpha1:AppProject"
APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ECR_REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
IAM_OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
GITHUB_ACTIONS_VARIABLE = "github:index/actionsVariable:ActionsVariable"
GITHUB_REPOSITORY = "github:index/repository:Repository"
GITHUB_BRANCH = "github:index/branch:Branch"
GITHUB_RULESET = "github:index/organizationRuleset:OrganizationRuleset"
GITHUB_COLLABORATORS = "github:index/repositoryCollaborators:RepositoryCollaborators"
GITHUB_TEAM_MEMBERS = "github:index/teamMembers:TeamMembers"
GITHUB_BRANCH_DEFAULT = "github:index/branchDefault:BranchDefault"
GITHUB_REPOSITORY_FILE = "github:index/repositoryFile:RepositoryFile"
GITHUB_DEPLOY_KEY = "github:index/repositoryDeployKey:RepositoryDeployKey"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
LOCAL_COMMAND = "command:local:Command"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
KUBERNETES_PACKAGE = "kubernetes:"
PROVIDER_PREFIX = "pulumi:providers:"
