"""Pulumi ComponentResources of the platform, one concern per module."""
