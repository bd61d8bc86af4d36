"""The IMaaS Pulumi program: read the stack settings and tenant files, then declare the platform."""

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
            focus=inputs.focus,
        ),
    )


if __name__ == "__main__":
    main()
