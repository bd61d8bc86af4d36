"""Kubernetes resource quantities, so that quotas can be compared with the stack's limits."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# Kubernetes' suffixes: milli, the decimal powers of 1000 and the binary powers of 1024.
_SUFFIXES = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{prefix: Decimal(1000) ** power for power, prefix in enumerate("kMGTPE", start=1)},
    **{f"{prefix}i": Decimal(1024) ** power for power, prefix in enumerate("KMGTPE", start=1)},
}
QUANTITY_PATTERN = r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
ZERO_PATTERN = r"^0+(\.0+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$"
# Every quantity of a file is above zero (a zero quota lets nothing run): one pattern for both, for the JSON Schema,
# where a look-ahead refuses the zeros so that an editor can say why in one sentence.
ABOVE_ZERO_PATTERN = f"^(?!{ZERO_PATTERN[1:]}){QUANTITY_PATTERN[1:]}"
QUANTITY_RULE = (
    "must be a Kubernetes quantity above 0: a number and an optional suffix (m, k, M, G, T, Ki, Mi, Gi, Ti, ...)"
)
QUANTITY_MAX_LENGTH = 32
LARGEST_NUMBER = 10**18
"""The largest quantity written as a bare YAML number (`cpu: 4`); beyond it, write the quantity with a suffix."""
_QUANTITY = re.compile(QUANTITY_PATTERN)


def parse_quantity(text: str) -> Decimal:
    """`"500m"` as 0.5, `"8Gi"` as 8589934592."""
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    suffix = match.group(2) or ""
    return Decimal(text[: len(text) - len(suffix)]) * _SUFFIXES[suffix]


def shown_quantity(amount: Decimal, *, binary: bool) -> str:
    """`amount` as the shortest exact quantity: cores (`"15"`, `"2500m"`) or bytes in their largest whole binary
    unit (`"15Gi"`, `"2304Mi"`)."""
    suffixes = ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki", "") if binary else ("", "m")
    for suffix in suffixes:
        count = amount / _SUFFIXES[suffix]
        if count == count.to_integral_value():
            return f"{int(count)}{suffix}"
    return format(amount.normalize(), "f")


def exceeds(value: str | int, limit: str | int) -> bool:
    """Whether quantity (or count) `value` is above `limit`: the one comparison behind quota limits everywhere."""
    return parse_quantity(str(value)) > parse_quantity(str(limit))


def at_most(value: str, limit: str) -> str:
    """`value`, or `limit` where `value` is above it."""
    return limit if exceeds(value, limit) else value


def _number_as_text(value: object) -> object:
    # YAML reads `cpu: 4` and `cpu: 2.5` as numbers; Kubernetes wants the quantity as a string either way. The text is
    # positional (1e+06 would not be a quantity of the pattern), and the range is the one the JSON Schema states.
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= LARGEST_NUMBER:
            raise PydanticCustomError("quantity_range", "must be between 0 and {largest}", {"largest": LARGEST_NUMBER})
        return format(Decimal(repr(value)).normalize(), "f")
    return value


class _NumbersToo:
    """The JSON Schema of a quantity: the string pydantic derives from the pattern, or a number in the range that
    `_number_as_text` takes, so that an editor accepts `cpu: 4` as the command line does."""

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        text = handler(schema)
        return {"anyOf": [text, {"type": "number", "minimum": 0, "maximum": LARGEST_NUMBER}]}


def whole_number(value: Any) -> Any:
    # pydantic's lax integers take "40", "4_0" and true; YAML and the JSON Schema mean a number by a number.
    if isinstance(value, str | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


Quantity = Annotated[
    str,
    # The constraints before the conversion, so that pydantic keeps them in the string's JSON Schema.
    StringConstraints(pattern=QUANTITY_PATTERN, max_length=QUANTITY_MAX_LENGTH),
    BeforeValidator(_number_as_text),
    _NumbersToo(),
]
PodCount = Annotated[int, Field(ge=1, le=10_000), BeforeValidator(whole_number)]


class _InWholeUnits:
    """A quantity above zero, in whole units of `resolution`: what a quota of it means. Kubernetes rounds a quota up to
    its own resolution (cpu `"0.0001"` becomes 1m, memory `"0.5"` one byte), so a finer value says what is not
    enforced, and a zero quota lets nothing run or be stored. The JSON Schema states the zero; the resolution it does
    not (a number's `multipleOf` is inexact in floating point, and a pattern per suffix would be unreadable)."""

    def __init__(self, resolution: Decimal, unit: str) -> None:
        self.resolution = resolution
        self.unit = unit

    def _check(self, value: str) -> str:
        amount = parse_quantity(value)
        if amount <= 0:
            raise PydanticCustomError("quantity_zero", "must be more than 0, got {value}", {"value": value})
        if amount % self.resolution:
            context = {"value": value, "unit": self.unit}
            raise PydanticCustomError("quantity_resolution", "must be a whole number of {unit}, got {value}", context)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        # The text and the number `_NumbersToo` states, each above zero in its own terms: an editor then names the rule
        # (a `not: {zero}` would only say "Matches a schema that is not allowed").
        text, number = handler(schema)["anyOf"]
        assert text["pattern"] == QUANTITY_PATTERN and number["minimum"] == 0, (text, number)
        above_zero_number = {key: value for key, value in number.items() if key != "minimum"} | {"exclusiveMinimum": 0}
        above_zero_text = text | {"pattern": ABOVE_ZERO_PATTERN, "patternErrorMessage": QUANTITY_RULE}
        return {"anyOf": [above_zero_text, above_zero_number]}


CpuQuantity = Annotated[Quantity, _InWholeUnits(Decimal("0.001"), "millicores (1m)")]
ByteQuantity = Annotated[Quantity, _InWholeUnits(Decimal(1), "bytes")]
