"""The conventions every input model follows: camelCase keys, unknown keys refused, immutable."""

from __future__ import annotations

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
