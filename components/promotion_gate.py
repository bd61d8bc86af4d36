"""The promotion gate on one cluster (imaas/declarations/promotion.py): its script and configuration, the App's key, an
account that may read Argo CD's Applications and nothing else, and the one pod that posts the statuses. Its fence
is in the observability namespace's table (imaas/declarations/fence.py, pod group `promotion-gate`)."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from imaas.declarations import images, naming, promotion, roles, types
from imaas.incluster import promotion_gate
from imaas.inputs.stack_file import PROMOTION_GATE_KEY_SETTING
from imaas.model.settings import CONFIG_NAMESPACE, StackSettings

SCRIPT = Path(promotion_gate.__file__)


class PromotionGate(pulumi.ComponentResource):
    def __init__(self, name: str, settings: StackSettings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(types.PROMOTION_GATE, name, None, opts)
        namespace = settings.observability.namespace
        labels = naming.platform_labels()
        inside = pulumi.ResourceOptions(parent=self)

        def metadata(in_namespace: str = namespace) -> k8s.meta.v1.ObjectMetaArgs:
            return k8s.meta.v1.ObjectMetaArgs(name=promotion.GATE, namespace=in_namespace, labels=labels)

        # Read through Config so that the key stays an Output marked secret: encrypted in the state, masked in logs.
        key = pulumi.Config(CONFIG_NAMESPACE).require_secret(PROMOTION_GATE_KEY_SETTING)
        secret = k8s.core.v1.Secret(
            f"{promotion.GATE}-key", metadata=metadata(), string_data={promotion.PRIVATE_KEY_KEY: key}, opts=inside
        )
        config = k8s.core.v1.ConfigMap(
            promotion.GATE,
            metadata=metadata(),
            data={
                promotion.SCRIPT_KEY: SCRIPT.read_text(encoding="utf-8"),
                promotion.CONFIG_KEY: promotion.gate_config_json(settings),
            },
            opts=inside,
        )
        account = k8s.core.v1.ServiceAccount(promotion.GATE, metadata=metadata(), opts=inside)
        reader = k8s.rbac.v1.Role(
            f"{promotion.GATE}-applications",
            metadata=metadata(settings.argocd_namespace),
            rules=promotion.application_reader_rules(),
            opts=inside,
        )
        k8s.rbac.v1.RoleBinding(
            f"{promotion.GATE}-applications",
            metadata=metadata(settings.argocd_namespace),
            role_ref=roles.role_ref(promotion.GATE),
            subjects=roles.account_subjects(promotion.GATE, namespace),
            opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[reader])),
        )
        k8s.apps.v1.Deployment(
            promotion.GATE,
            metadata=metadata(),
            spec=promotion.gate_deployment_spec(images.mirrored(images.PYTHON_IMAGE, settings.image_mirror)),
            opts=pulumi.ResourceOptions.merge(inside, pulumi.ResourceOptions(depends_on=[secret, config, account])),
        )
        self.register_outputs({"namespace": namespace})
