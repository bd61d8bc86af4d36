"""The operators that tenant secrets and exposed services run on, from their pinned charts: External Secrets
Operator and cert-manager, each in a namespace of its own, for a cluster that has none (unless `imaas:preinstalled`
lists them); their images through the stack's mirror, where it names one (imaas/declarations/images.py)."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.helm import v3 as helm

from components.helm_release import declare_addon
from components.safety import kept
from imaas.declarations import chart_values, charts, exposure, naming, types
from imaas.model.settings import GATEWAY_NAME, GATEWAY_NAMESPACE, ExposureSettings


class ExternalSecrets(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        chart: charts.Release,
        image_mirror: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(types.EXTERNAL_SECRETS, name, None, opts)
        self.release: helm.Release = declare_addon(
            self,
            charts.EXTERNAL_SECRETS,
            chart,
            charts.EXTERNAL_SECRETS_NAMESPACE,
            chart_values.external_secrets_values(),
            image_mirror,
            create_namespace=True,
        )


class CertManager(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        chart: charts.Release,
        image_mirror: dict[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(types.CERT_MANAGER, name, None, opts)
        self.release: helm.Release = declare_addon(
            self,
            charts.CERT_MANAGER,
            chart,
            charts.CERT_MANAGER_NAMESPACE,
            chart_values.cert_manager_values(),
            image_mirror,
            create_namespace=True,
        )


def declare_gateway(config: ExposureSettings, opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    """The cluster's one Gateway for tenant services, in a namespace of the platform's: tenants attach their own
    listeners to it with a ListenerSet each (imaas/declarations/exposure.py). The Gateway API CRDs and the controller of
    its class are the cluster's (`imaas preflight` checks the CRDs' version)."""
    labels = naming.platform_labels()
    # Unlabelled, like the cluster's own namespaces: the tenants' Prometheus reads rules of the platform's labelled
    # namespaces, and this one holds none of a tenant's.
    namespace = k8s.core.v1.Namespace(
        GATEWAY_NAMESPACE,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_NAMESPACE),
        # Its certificates' and routes' state is the Gateway controller's: kept like every namespace.
        opts=kept(opts),
    )
    return k8s.apiextensions.CustomResource(
        f"{GATEWAY_NAMESPACE}-{GATEWAY_NAME}",
        api_version=exposure.API_VERSION,
        kind="Gateway",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_NAME, namespace=GATEWAY_NAMESPACE, labels=labels),
        spec=exposure.gateway_spec(config),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[namespace])),
    )
