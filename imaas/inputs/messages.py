"""Checking parsed YAML against a model, with messages that point at the offending line."""

from __future__ import annotations

import difflib
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from imaas.inputs.problems import InputError, Problem
from imaas.inputs.yaml_source import YamlDocument, shown

M = TypeVar("M", bound=BaseModel)


def validate_document(model: type[M], document: YamlDocument, data: Any = None) -> M:
    """Validate `data` (default: the whole document) as `model`, raising every problem at its position."""
    data = document.data if data is None else data
    if not isinstance(data, dict):
        problem = document.problem((), f"expected a mapping at the top of the file, found {_describe(data)}")
        raise InputError([problem])
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise InputError(problems_of(err, model, document)) from None


def problems_of(err: ValidationError, model: type[BaseModel], document: YamlDocument) -> list[Problem]:
    problems = []
    for error in err.errors(include_url=False):
        location = tuple(error["loc"])
        # Errors raised by a model validator carry no field; they belong to the mapping itself.
        key = error["type"] == "extra_forbidden"
        problems.append(document.problem(location, message_of(error, model), key=key))
    return problems


def message_of(error: ErrorDetails, model: type[BaseModel]) -> str:
    kind = error["type"]
    context = error.get("ctx", {})
    value = error.get("input")
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        allowed = allowed_keys(model, error["loc"][:-1])
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else f"; allowed keys: {', '.join(allowed)}"
        return f"unknown key {shown(name)}{hint}"
    if kind == "missing":
        return "is required"
    if kind == "string_pattern_mismatch":
        return f"must match {context['pattern']}, got {shown(value)}"
    if kind == "string_too_short":
        return f"must be at least {context['min_length']} characters, got {shown(value)}"
    if kind == "string_too_long":
        return f"must be at most {context['max_length']} characters, got {len(value)}"
    if kind == "too_short":
        return f"must have at least {context['min_length']} entr{'y' if context['min_length'] == 1 else 'ies'}"
    if kind == "literal_error":
        return f"must be one of {context['expected']}, got {shown(value)}"
    if kind in (
        "string_type",
        "int_type",
        "int_parsing",
        "bool_type",
        "bool_parsing",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
    ):
        expected = {
            "string": "text",
            "int": "a whole number",
            "bool": "true or false",
            "list": "a list",
            "dict": "a mapping",
            "model": "a mapping",
            "model_attributes": "a mapping",
        }
        return f"must be {expected[kind.rsplit('_', 1)[0]]}, got {_describe(value)}"
    if kind == "value_error":
        return str(context.get("error", error["msg"]))
    message = error["msg"]
    return message[:1].lower() + message[1:]


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)[:40]


def allowed_keys(model: type[BaseModel], location: tuple[Any, ...]) -> list[str]:
    """The keys the model accepts at `location`, by their file names."""
    current: Any = model
    for part in location:
        if isinstance(part, int) or not (isinstance(current, type) and issubclass(current, BaseModel)):
            continue
        field = next((f for n, f in current.model_fields.items() if part in (n, f.alias)), None)
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [field.alias or name for name, field in current.model_fields.items()]
    return []


def _model_in(annotation: Any) -> Any:
    """The model class inside `Model`, `Model | None`, `list[Model]` or `dict[str, Model]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in getattr(annotation, "__args__", ()):
        found = _model_in(argument)
        if found is not None:
            return found
    if hasattr(annotation, "__origin__"):
        return _model_in(annotation.__origin__)
    return None
