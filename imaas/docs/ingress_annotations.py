"""The ingress-nginx annotations tenants may set, in docs/isolation.md, as the admission rule allows them."""

from __future__ import annotations

from imaas.declarations.admission import INGRESS_ALLOWED_ANNOTATIONS
from imaas.docs.sections import PROJECT_DIR, section


def _allowed() -> list[str]:
    return [", ".join(f"`{name}`" for name in sorted(INGRESS_ALLOWED_ANNOTATIONS)) + "."]


INGRESS_ANNOTATIONS = section(
    PROJECT_DIR / "docs" / "isolation.md", "ingress-annotations", "imaas/declarations/admission.py", _allowed
)
