"""Everything one tenant service has on one stack: its registry and repository (on the stack that owns global
resources), and its Argo CD Applications (for each environment the stack hosts) with this cluster's read-only key to
its repository."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_github as github

from components.argocd_repository import RepositoryAccessArgs, declare_repository_access
from components.ci_identity import CiRoleArgs, declare_ci_role, declare_push_policy
from components.delivery_context import DeliveryContext, GlobalContext
from components.service_applications import ApplicationsArgs, declare_applications
from components.service_registry import RegistryArgs, declare_registry
from components.service_repository import (
    CiVariableArgs,
    RepositoryArgs,
    declare_ci_variable,
    declare_repository,
)
from imaas.declarations import naming, types
from imaas.declarations.guide import service_guide
from imaas.model.settings import StackSettings
from imaas.model.tenant import Service, Tenant


@dataclass(frozen=True)
class ServiceArgs:
    tenant: Tenant
    service: Service
    settings: StackSettings
    context: DeliveryContext
    team: github.Team | None
    """The tenant's GitHub team, on the stack that owns global resources (which declares the service's
    repository and registry), and only there."""
    argocd: pulumi.Resource | None = None
    """Argo CD's release, when the stack installs Argo CD: the Application CRD comes with it."""


class ServiceResources(pulumi.ComponentResource):
    registry: aws.ecr.Repository | None

    def __init__(self, name: str, args: ServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        tenant, service, settings, context = args.tenant, args.service, args.settings, args.context
        self.active = service in tenant.active_services()
        # In the plan, so that `diff` tells a retirement (whose Applications go on purpose) from a lost Application.
        super().__init__(types.SERVICE, name, {"lifecycle": "active" if self.active else "retired"}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.registry = None
        repository: pulumi.Input[str] = naming.github_repository(tenant.name, service.name)
        if args.team is not None and context.globals is not None:
            repository = self._delivery(args, args.team, context.globals, child).name
        hosted = settings.hosted(tenant.service_environments(service))
        after_argocd = pulumi.ResourceOptions(parent=self, depends_on=[args.argocd] if args.argocd else None)
        if self.active and hosted:
            # What this cluster's Argo CD reads the repository with; gone with the Applications that read it.
            declare_repository_access(
                RepositoryAccessArgs(
                    tenant=tenant,
                    service=service,
                    github_owner=context.github_owner,
                    stack=context.stack,
                    namespace=settings.argocd_namespace,
                    repository=repository,
                ),
                child,
                after_argocd,
            )
        if self.active:
            declare_applications(
                ApplicationsArgs(
                    tenant=tenant,
                    service=service,
                    environments=hosted,
                    settings=settings,
                    github_owner=context.github_owner,
                ),
                after_argocd,
            )
        self.register_outputs({"environments": hosted if self.active else []})

    def _delivery(
        self, args: ServiceArgs, team: github.Team, globals_: GlobalContext, child: pulumi.ResourceOptions
    ) -> github.Repository:
        """On the stack owning global resources: the repository, then (for an active service) the CI role that
        trusts it by id, the registry that role pushes to, and the variable telling the CI where."""
        tenant, service, settings, context = args.tenant, args.service, args.settings, args.context
        repository = declare_repository(
            RepositoryArgs(
                tenant=tenant,
                service=service,
                github_owner=context.github_owner,
                template_repository=settings.template_repository,
                team_id=team.id,
                template_content=globals_.template_content,
                branch_provider=globals_.branch_provider,
            ),
            child,
        )
        ci_role = None
        if self.active:
            ci_role = declare_ci_role(
                CiRoleArgs(
                    tenant=tenant,
                    service=service,
                    repository_id=repository.repo_id,
                    oidc_provider_arn=globals_.oidc_provider_arn,
                ),
                child,
            )
        self.registry = declare_registry(
            RegistryArgs(
                tenant=tenant, service=service, settings=settings, push_role_arn=ci_role.arn if ci_role else None
            ),
            child,
        )
        if ci_role is None:
            return repository
        declare_push_policy(ci_role, naming.ci_role(tenant.name, service.name), self.registry.arn, child)
        variables = CiVariableArgs(
            tenant=tenant,
            service=service,
            guide=service_guide(tenant, service, settings, context.github_owner),
            region=globals_.aws_region,
            registry_url=self.registry.repository_url,
            ci_role_arn=ci_role.arn,
        )
        declare_ci_variable(repository, variables, child)
        return repository
