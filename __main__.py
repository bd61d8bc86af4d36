"""The IMaaS Pulumi program: read the stack settings and tenant files, then declare the platform."""

from pathlib import Path

from components.platform import Platform, PlatformArgs
from imaas.program_inputs import read_program_inputs


def main() -> None:
    inputs = read_program_inputs(Path(__file__).resolve().parent)
    Platform("imaas", PlatformArgs(settings=inputs.settings, tenants=inputs.tenants, github_owner=inputs.github_owner))


if __name__ == "__main__":
    main()
