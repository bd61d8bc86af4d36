"""Text that reads the same to a person: equal after case folding and Unicode's confusable skeleton (UTS #39,
section 4, "Confusable Detection"), as ICU's SpoofChecker computes it from Unicode's own confusables data.

`Payments`, `payments`, `Pаyments` (a Cyrillic а) and `Paymеnts` (a Cyrillic е) all look alike, and so do `rn` and
`m`, or `l` and `I`. The skeleton is taken before and after case folding, since either may bring letters the other
maps: `Il` and `ll` look alike only through the skeleton of the capital I, `Integration` and `integration` only
through folding first (the skeleton alone maps the capital I to l).
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _checker() -> Any:
    # Imported on first use: only the rules across tenant files compare text this way.
    import icu

    return icu.SpoofChecker()


def skeleton(text: str) -> str:
    """UTS #39's skeleton of `text` (NFD, each character to its prototype, NFD again)."""
    return str(_checker().getSkeleton(0, text))


def look_alike_keys(text: str) -> frozenset[str]:
    """What `text` looks like: two texts that share a key are told apart by no reader. Case folded before the
    skeleton (`Integration` and `integration`), and after it (`Il` and `ll`, whose capital I the skeleton maps to l)."""
    return frozenset({skeleton(text.casefold()), skeleton(skeleton(text).casefold())})
