"""The conventions every input model follows: camelCase keys, unknown keys refused, immutable."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

T = TypeVar("T")


class InputModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        str_strip_whitespace=False,
    )


def unique(values: Sequence[T]) -> Sequence[T]:
    """A validator for lists in which each entry may appear once; the error names both places, so that a message can
    point at the repeated entry and say where it was first listed."""
    first: dict[T, int] = {}
    for index, value in enumerate(values):
        if value in first:
            context = {"value": value, "index": index, "first": first[value]}
            raise PydanticCustomError("list_entry_repeated", "{value} is listed more than once", context)
        first[value] = index
    return values


class Unique:
    """`Annotated[list[X], Unique()]`: each entry once, refused by `unique` on input and stated as `uniqueItems` in
    the JSON Schema, so that an editor refuses what the command line refuses."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(unique, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {**handler(schema), "uniqueItems": True}


class Refuses:
    """`Annotated[str, Refuses(pattern, what)]`: text in which `pattern` is found anywhere is refused, saying it may not
    `what`. The JSON Schema states it as a pattern that matches where `pattern` is not found (a negative look-ahead,
    which ECMA-262 has and pydantic's own regex engine has not), with the same words as its `patternErrorMessage`:
    an editor shows a sentence where `not: {pattern}` would only say "Matches a schema that is not allowed"."""

    def __init__(self, pattern: str, what: str) -> None:
        self.pattern = pattern
        self.what = what
        self._compiled = re.compile(pattern)

    @property
    def rule(self) -> str:
        return f"may not {self.what}"

    @property
    def allowing_pattern(self) -> str:
        """A pattern that matches exactly the text in which `pattern` is nowhere: an anchored one as it is, another
        after any prefix (`[\\s\\S]`, as `.` stops at line breaks)."""
        if self.pattern.startswith("^"):
            return f"^(?!{self.pattern[1:]})"
        return f"^(?![\\s\\S]*(?:{self.pattern}))"

    def _check(self, value: str) -> str:
        found = self._compiled.search(value)
        if found:
            text = found.group()
            # An invisible character by its code point: a bidi override shown as itself would reorder the message.
            shown = f"U+{ord(text):04X}" if len(text) == 1 and not text.isprintable() else repr(text)
            context = {"what": self.what, "found": shown}
            raise PydanticCustomError("text_refused", "may not {what}, found {found}", context)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        result = handler(schema)
        refusal = {"pattern": self.allowing_pattern, "patternErrorMessage": self.rule}
        return {**result, "allOf": [*result.get("allOf", []), refusal]}
