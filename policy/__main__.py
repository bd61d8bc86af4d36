"""The IMaaS guardrails as a Pulumi policy pack: `pulumi preview --policy-pack policy`."""

from pulumi_policy import PolicyPack

from imaas_policies import guardrail_policies

PolicyPack(
    name="imaas-guardrails",
    description="Tenant isolation and data safety guardrails of the IMaaS platform.",
    policies=guardrail_policies(),
)
