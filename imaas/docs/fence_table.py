"""The observability namespace's fence table in docs/isolation.md, as imaas/declarations/fence.py declares it."""

from __future__ import annotations

from imaas.declarations import fence
from imaas.docs.sections import PROJECT_DIR, Generated

FENCE = Generated(PROJECT_DIR / "docs" / "isolation.md", fence.markdown, fence.DOC_BEGIN, fence.DOC_END)
