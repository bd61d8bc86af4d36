"""The IMaaS Pulumi program: read the cluster's settings and the tenant files, then declare the stack's part of the
platform: the cluster's shared stack (`pulumi -s dev --config-file Pulumi.dev.yaml`) or one tenant's stack
(`pulumi -s dev.payments --config-file Pulumi.dev.yaml`)."""

from pathlib import Path

from components.platform import Platform, PlatformArgs
from components.program_inputs import read_program_inputs
from imaas.inputs.template_source import TEMPLATE_DIR

PROJECT_DIR = Path(__file__).resolve().parent


def main() -> None:
    inputs = read_program_inputs(PROJECT_DIR)
    Platform(
        "imaas",
        PlatformArgs(
            settings=inputs.settings,
            tenants=inputs.tenants,
            github_owner=inputs.github_owner,
            aws_region=inputs.aws_region,
            template_dir=PROJECT_DIR / TEMPLATE_DIR,
            stack=inputs.stack,
            whole_cluster=inputs.whole_cluster,
        ),
    )


if __name__ == "__main__":
    main()
