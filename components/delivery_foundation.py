"""What tenants' delivery shares, on the shared stack of the cluster that owns the shared resources: the GitHub OIDC
provider in IAM, the service template, and the organisation rules that protect every service repository's test and
prod branches, found by the repositories' custom property `imaas-service` (set by each tenant stack on its own
repositories, editable by organisation owners only) rather than by a list of names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_github as github

from components.safety import kept
from imaas.declarations import delivery, iam, types
from imaas.inputs.problems import InputError
from imaas.inputs.template_source import template_version
from imaas.model.settings import StackSettings

TEMPLATE_BRANCH = "dev"
# Run by `pulumi up` where the program runs, with the interpreter of Pulumi.yaml's virtualenv. It pushes with
# IMAAS_TEMPLATE_TOKEN, a token the deploy workflow mints for each run from the platform's App for the template
# repository alone (contents and workflows), read from the environment by git alone.
PUBLISH_COMMAND = ".venv/bin/python -m imaas template publish"


@dataclass(frozen=True)
class FoundationArgs:
    settings: StackSettings
    template_dir: Path
    github_owner: str


class DeliveryFoundation(pulumi.ComponentResource):
    oidc_provider_arn: pulumi.Output[str]
    template_content: list[pulumi.Resource]
    """What a repository generated from the template must wait for (empty where this stack has no template)."""

    def __init__(self, name: str, args: FoundationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.DELIVERY_FOUNDATION, name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        if settings.github_oidc_provider_arn:
            self.oidc_provider_arn = pulumi.Output.from_input(settings.github_oidc_provider_arn)
        else:
            self.oidc_provider_arn = aws.iam.OpenIdConnectProvider(
                "github-actions",
                url=delivery.GITHUB_OIDC_URL,
                client_id_lists=[iam.STS_AUDIENCE],
                opts=child,
            ).arn
        self.template_content = []
        if settings.shares:
            try:
                version = template_version(args.template_dir)
            except InputError as error:
                raise pulumi.RunError(str(error.problems[0])) from None
            self.template_content = self._declare_template(
                settings.template_repository, args.github_owner, version, child
            )
        if settings.shares:
            if settings.promotion.github_app is None:
                raise pulumi.RunError(
                    "imaas:promotion.githubApp: the test and prod rulesets require the promotion gate's status, "
                    "which only its App may post: set its ids and promotionGatePrivateKey"
                )
            properties = self._declare_properties(child)
            self._declare_branch_rules(
                settings.promotion.github_app.app_id,
                pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=properties)),
            )
        self.register_outputs({"oidcProviderArn": self.oidc_provider_arn})

    def _declare_template(
        self, name: str, owner: str, version: str, opts: pulumi.ResourceOptions
    ) -> list[pulumi.Resource]:
        """The template repository, its default branch and its published version; returns what generated
        repositories wait for.

        GitHub generates a repository from whatever the template holds at that moment, once: a repository made
        before the rename or the publication would never get them."""
        template = github.Repository(
            name,
            name=name,
            description="IMaaS service template: WSO2 Micro Integrator project, image build, deploy manifests",
            visibility="private",
            is_template=True,
            auto_init=True,
            has_issues=False,
            has_wiki=False,
            has_projects=False,
            archive_on_destroy=True,
            opts=kept(opts),
        )
        # Repositories made from a template start with its default branch only: dev, where delivery starts.
        default = github.BranchDefault(
            f"{name}-default-branch",
            repository=template.name,
            branch=TEMPLATE_BRANCH,
            rename=True,
            # The version is committed to dev only once the rename has taken effect.
            wait_for_rename=True,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[template])),
        )
        # The whole template as one commit and tag per version (`imaas template publish`), not a commit per file:
        # a version is what services are synced from and to. Its id, the tree id of templates/service, is this
        # resource's input, so the state records the version each `up` published and a change shows in the diff.
        # Nothing runs at preview; a deletion leaves the repository's versions as they are.
        publication = command.local.Command(
            f"{name}-version",
            create=PUBLISH_COMMAND,
            update=PUBLISH_COMMAND,
            environment={
                "IMAAS_TEMPLATE_OWNER": owner,
                "IMAAS_TEMPLATE_REPOSITORY": name,
                "IMAAS_TEMPLATE_VERSION": version,
            },
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[default])),
        )
        return [default, publication]

    def _declare_properties(self, opts: pulumi.ResourceOptions) -> list[pulumi.Resource]:
        """The organisation's custom properties that mark service repositories, whose values only organisation
        owners may edit."""
        return [
            github.OrganizationCustomProperties(
                delivery.SERVICE_PROPERTY,
                property_name=delivery.SERVICE_PROPERTY,
                value_type="true_false",
                required=False,
                description="An IMaaS service repository: the imaas branch rulesets protect its test and prod branches",
                values_editable_by=delivery.PROPERTY_VALUES_EDITABLE_BY,
                opts=opts,
            ),
            github.OrganizationCustomProperties(
                delivery.TENANT_PROPERTY,
                property_name=delivery.TENANT_PROPERTY,
                value_type="string",
                required=False,
                description="The IMaaS tenant that owns the repository",
                values_editable_by=delivery.PROPERTY_VALUES_EDITABLE_BY,
                opts=opts,
            ),
        ]

    def _declare_branch_rules(self, gate_app_id: int, opts: pulumi.ResourceOptions) -> None:
        """The organisation rulesets of the promoted branches (imaas/declarations/delivery.py)."""
        for branch in delivery.BRANCH_REVIEWS:
            github.OrganizationRuleset(
                delivery.ruleset_name(branch),
                name=delivery.ruleset_name(branch),
                target="branch",
                enforcement="active",
                bypass_actors=delivery.RULESET_BYPASS,
                conditions=delivery.ruleset_conditions(branch),
                rules=delivery.branch_rules(branch, gate_app_id),
                opts=opts,
            )
