"""What tenants' delivery shares, on a stack that owns global resources: the organisation rules that protect its
tenants' service repositories' test and prod branches (one rule for all of them instead of one per repository),
and, on the one stack that owns the shared resources, the GitHub OIDC provider in IAM and the service template."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_github as github

from components.safety import kept
from imaas.inputs.problems import InputError
from imaas.inputs.template_source import template_version
from imaas.model.settings import StackSettings
from imaas.model.tenant import Tenant
from imaas.spec import delivery, naming, types

TEMPLATE_BRANCH = "dev"
# Run by `pulumi up` where the program runs, with the interpreter of Pulumi.yaml's virtualenv. It pushes with
# IMAAS_TEMPLATE_TOKEN, a token the deploy workflow mints for each run from the platform's App for the template
# repository alone (contents and workflows), read from the environment by git alone.
PUBLISH_COMMAND = ".venv/bin/python -m imaas template publish"


@dataclass(frozen=True)
class FoundationArgs:
    settings: StackSettings
    tenants: list[Tenant]
    """The tenants this stack manages."""
    template_dir: Path
    github_owner: str


def service_repositories(tenants: list[Tenant]) -> list[str]:
    return [naming.github_repository(t.name, s.name) for t in tenants for s in t.active_services()]


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
                client_id_lists=[delivery.STS_AUDIENCE],
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
        repositories = service_repositories(args.tenants)
        if repositories:
            # Each stack owning global resources protects its own tenants' repositories, under names of its own.
            suffix = "" if settings.shares else f"-{pulumi.get_stack()}"
            self._declare_branch_rules(repositories, suffix, child)
        self.register_outputs({"oidcProviderArn": self.oidc_provider_arn, "serviceRepositories": len(repositories)})

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

    def _declare_branch_rules(self, repositories: list[str], suffix: str, opts: pulumi.ResourceOptions) -> None:
        rules = {
            # A production release is a reviewed merge: pull request, one fresh approval, no force push, no deletion.
            "prod": github.OrganizationRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                pull_request=github.OrganizationRulesetRulesPullRequestArgs(
                    required_approving_review_count=1,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=True,
                ),
            ),
            # Test is promoted to by merging too, but without a required review.
            "test": github.OrganizationRulesetRulesArgs(deletion=True, non_fast_forward=True),
        }
        for branch, branch_rules in rules.items():
            github.OrganizationRuleset(
                f"imaas-{branch}-branches{suffix}",
                name=f"imaas-{branch}-branches{suffix}",
                target="branch",
                enforcement="active",
                conditions=github.OrganizationRulesetConditionsArgs(
                    ref_name=github.OrganizationRulesetConditionsRefNameArgs(
                        includes=[f"refs/heads/{naming.branch(branch)}"], excludes=[]
                    ),
                    # The rules name the repositories, and GitHub then refuses to rename them: a renamed repository
                    # would leave its rules while Argo CD follows GitHub's redirect to it.
                    repository_name=github.OrganizationRulesetConditionsRepositoryNameArgs(
                        includes=repositories, excludes=[], protected=True
                    ),
                ),
                rules=branch_rules,
                opts=opts,
            )
