"""The models of what people write: tenant files and stack settings, their formats and quantities. No I/O, no Pulumi."""
