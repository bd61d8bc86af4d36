"""Guardrails on data: what holds a tenant's work is never deleted by a change to the program."""

from __future__ import annotations

from collections.abc import Iterator

from imaas.declarations import safety
from imaas.guardrails.framework import Context, Index, Resource


def data_kept(index: Index, context: Context) -> Iterator[tuple[Resource, str]]:
    for type_ in safety.KEPT_TYPES:
        for resource in index(type_):
            if not (resource.protect or resource.retain_on_delete):
                yield resource, "holds a tenant's work but is neither protected nor retained on delete"
