"""How the program declares what holds a tenant's work (namespaces, repositories, registries)."""

from __future__ import annotations

import pulumi


def kept(opts: pulumi.ResourceOptions) -> pulumi.ResourceOptions:
    """`opts`, plus the options that make sure Pulumi never deletes the resource.

    `protect` makes an update that would delete it fail loudly (a removed or renamed file, which `validate --base`
    already refuses), and keeps state and reality in step; `retain_on_delete` makes sure that even an admin who
    lifts the protection to drop the resource from the program leaves it in place.
    """
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True, retain_on_delete=True))
