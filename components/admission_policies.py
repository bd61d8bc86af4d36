"""The cluster's admission policies for tenant namespaces: one ValidatingAdmissionPolicy and its binding per rule
of imaas/declarations/admission.py, declared once per cluster, so that what a tenant deploys itself meets the same
fences as what the platform declares; and the priority classes those policies let tenants' pods name
(imaas/declarations/isolation.py, TENANT_PRIORITY_CLASSES)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import admission, isolation, naming, types
from imaas.model.settings import StackSettings

admissionregistration = k8s.admissionregistration.v1


class AdmissionPolicies(pulumi.ComponentResource):
    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.ADMISSION_POLICIES, name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = naming.platform_labels()
        for rule in admission.admission_rules(settings):
            metadata = k8s.meta.v1.ObjectMetaArgs(name=rule.name, labels=labels)
            policy = admissionregistration.ValidatingAdmissionPolicy(
                rule.name, metadata=metadata, spec=rule.policy_spec(), opts=child
            )
            # A binding naming a policy that does not exist yet is accepted and enforces nothing until it does.
            admissionregistration.ValidatingAdmissionPolicyBinding(
                rule.name,
                metadata=metadata,
                spec=rule.binding_spec(),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
            )
        for priority in isolation.TENANT_PRIORITY_CLASSES:
            k8s.scheduling.v1.PriorityClass(
                priority.name,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=priority.name, labels=labels),
                value=priority.value,
                global_default=False,
                preemption_policy=priority.preemption_policy,
                description=priority.description,
                opts=child,
            )
        self.register_outputs({})
