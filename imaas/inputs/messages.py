"""Checking parsed YAML against a model, with messages that point at the offending line."""

from __future__ import annotations

import difflib
import re
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from imaas.inputs.problems import InputError, Problem
from imaas.inputs.yaml_source import YamlDocument, shown
from imaas.model.names import NAME_PATTERN, PATTERN_RULES
from imaas.model.quantity import QUANTITY_PATTERN, QUANTITY_RULE

M = TypeVar("M", bound=BaseModel)


def validate_document(model: type[M], document: YamlDocument, data: Any = None) -> M:
    """Validate `data` (default: the whole document) as `model`, raising every problem at its position."""
    data = document.data if data is None else data
    if not isinstance(data, dict):
        problem = document.problem((), f"expected a mapping at the top of the file, found {_describe(data)}")
        raise InputError([problem])
    try:
        # By the file's own keys only: `cost_center` is no key of a tenant file, though it is the field's Python name.
        return model.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as err:
        raise InputError(problems_of(err, model, document)) from None


def problems_of(err: ValidationError, model: type[BaseModel], document: YamlDocument) -> list[Problem]:
    problems = []
    for error in err.errors(include_url=False):
        location = tuple(error["loc"])
        # Errors raised by a model validator carry no field; they belong to the mapping itself.
        key = error["type"] == "extra_forbidden"
        message = message_of(error, model)
        if error["type"] == "list_entry_repeated":
            # At the repeated entry, saying where the first one is: in a long list, that is what one looks for.
            first = document.mark((*location, error["ctx"]["first"]))
            location = (*location, error["ctx"]["index"])
            message += f" (first at line {first.line})"
        written = document.written.get(location)
        if error["type"] == "string_type" and written is not None:
            # YAML 1.2 read a bare `0755` as the number 755, `true` as a boolean: the text meant needs quotes.
            message += f"; write it in quotes, '{written}', to keep it as text"
        problems.append(document.problem(location, message, key=key))
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
        return pattern_message(context["pattern"], value)
    if kind == "list_entry_repeated":
        return f"{shown(context['value'])} is listed more than once"
    if kind == "quantity_range":
        return f"must be a number from 0 to {context['largest']} (or a quantity with a suffix), got {value}"
    if kind == "string_too_short":
        return f"must be at least {context['min_length']} characters, got {shown(value)}"
    if kind == "string_too_long":
        return f"must be at most {context['max_length']} characters, got {len(value)}"
    if kind == "too_short":
        return f"must have at least {context['min_length']} entr{'y' if context['min_length'] == 1 else 'ies'}"
    if kind == "too_long":
        return f"must have at most {context['max_length']} entries, got {context['actual_length']}"
    if kind == "literal_error":
        return f"must be one of {context['expected']}, got {shown(value)}{_closest(value, context['expected'])}"
    if kind in _BOUNDS:
        word, key = _BOUNDS[kind]
        return f"must be {word} {context[key]}, got {_describe(value)}"
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
    # Whatever pydantic says in its own words, said in the project's: "Input should be ..." as "must be ...".
    message = re.sub(r"^(Input|Value) should\b", "must", error["msg"])
    return message[:1].lower() + message[1:]


_BOUNDS = {
    "greater_than_equal": ("at least", "ge"),
    "greater_than": ("more than", "gt"),
    "less_than_equal": ("at most", "le"),
    "less_than": ("less than", "lt"),
}


def _closest(value: Any, expected: str) -> str:
    """`; did you mean 'small'?` for `smal`, `; did you mean 'prod'?` for `production`: the allowed value the text
    given is closest to, or starts with."""
    if not isinstance(value, str):
        return ""
    allowed = re.findall(r"'([^']*)'", expected)
    lowered = value.strip().lower()
    close = difflib.get_close_matches(lowered, allowed, n=1, cutoff=0.6)
    close = close or [name for name in allowed if lowered.startswith(name) or name.startswith(lowered)][:1]
    return f"; did you mean {shown(close[0])}?" if close and lowered else ""


def pattern_message(pattern: str, value: str) -> str:
    """What a value of the format `pattern` must look like, in words, and where one is likely how to fix it."""
    if pattern == NAME_PATTERN:
        return name_message(value)
    if pattern == QUANTITY_PATTERN:
        return quantity_message(value)
    if pattern in PATTERN_RULES:
        return f"{PATTERN_RULES[pattern]}, got {shown(value)}"
    return f"must match {pattern}, got {shown(value)}"


def name_message(value: str) -> str:
    """Why `value` is no tenant or service name, and the name meant where one is plain (`'Logistics'`:
    `'logistics'`)."""
    wrong = sorted({char for char in value if not (char.islower() or char.isdigit() or char == "-")}, key=value.index)
    if any(char.isupper() for char in value):
        reason = "must be lower case"
    elif wrong:
        reason = f"may hold only lower-case letters, digits and single dashes, not {', '.join(map(shown, wrong))}"
    elif "--" in value:
        reason = "must not contain '--'"
    elif not value[:1].isalpha():
        reason = "must start with a letter"
    else:
        reason = "must end with a letter or a digit"
    suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    hint = f"; did you mean {shown(suggestion)}?" if re.fullmatch(NAME_PATTERN, suggestion) else ""
    return f"{reason}, got {shown(value)}{hint}"


_NUMBER = r"[0-9]+(?:[.,][0-9]+)?"


def quantity_message(value: str) -> str:
    """Why `value` is no quantity, with the quantity meant for the usual slips: `8GB` (`8Gi`), `4 cores` (`4`),
    `1e3Mi` (`1000Mi`), `2,5` (`2.5`)."""
    hint = _quantity_hint(value.strip())
    return f"{QUANTITY_RULE}, got {shown(value)}{hint}"


def _quantity_hint(text: str) -> str:
    exponent = re.fullmatch(r"([0-9.]+[eE][+-]?[0-9]+)\s*([A-Za-z]*)", text)
    if exponent:
        try:
            plain = format(Decimal(exponent.group(1)).normalize(), "f") + exponent.group(2)
        except InvalidOperation:
            return ""
        return f"; write it without an exponent: {shown(plain)}" if re.fullmatch(QUANTITY_PATTERN, plain) else ""
    cores = re.fullmatch(rf"({_NUMBER})\s*(v?cpus?|cores?)", text, re.IGNORECASE)
    unit = re.fullmatch(rf"({_NUMBER})\s*([kmgtpe])(i?)(b?)", text, re.IGNORECASE)
    if cores:
        suggestion = cores.group(1)
    elif unit and (unit.group(3) or unit.group(4)):
        # 8GB, 8GiB, 8gi: what people mean by a gigabyte of memory is the binary Gi.
        suggestion = f"{unit.group(1)}{unit.group(2).upper()}i"
    elif unit:
        # 8 G, 8g, 500 m: the same unit, spelled as Kubernetes does (decimal kilo is the only lower-case multiple).
        letter = unit.group(2)
        suggestion = unit.group(1) + (letter if letter in "mk" else letter.upper().replace("K", "k"))
    else:
        suggestion = text
    suggestion = suggestion.replace(",", ".")
    return f"; did you mean {shown(suggestion)}?" if re.fullmatch(QUANTITY_PATTERN, suggestion) else ""


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
