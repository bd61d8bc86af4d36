"""Kubernetes resource quantities, so that quotas can be compared with the stack's limits."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator, StringConstraints

_SUFFIXES = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
_QUANTITY = re.compile(QUANTITY_PATTERN)


def parse_quantity(text: str) -> Decimal:
    """`"500m"` as 0.5, `"8Gi"` as 8589934592."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    suffix = match.group(2) or ""
    return Decimal(text[: len(text) - len(suffix)]) * _SUFFIXES[suffix]


def exceeds(value: str | int, limit: str | int) -> bool:
    """Whether quantity (or count) `value` is above `limit`: the one comparison behind quota limits everywhere."""
    return parse_quantity(str(value)) > parse_quantity(str(limit))


def at_most(value: str, limit: str) -> str:
    """`value`, or `limit` where `value` is above it."""
    return limit if exceeds(value, limit) else value


def _number_as_text(value: object) -> object:
    # YAML reads `cpu: 4` as an int; Kubernetes wants the quantity as a string either way.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return format(value, "g")
    return value


Quantity = Annotated[
    str,
    BeforeValidator(_number_as_text),
    StringConstraints(pattern=QUANTITY_PATTERN, max_length=32),
]
