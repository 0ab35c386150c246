"""A validator for the schema dialect of Google's discovery documents, on the bundled YouTube one.

The dialect is a small JSON Schema cousin: `$ref` names another schema of the document, `type`
is object/array/string/integer/number/boolean, objects list `properties` (anything else only
under `additionalProperties`), arrays give `items`, strings and integers carry a `format`
(uint64 counts travel as decimal strings) and sometimes an `enum`. Stricter than the document
on one point: a property an object's schema does not name is an error, so the fake cannot serve
a field the API does not have.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import aggregator

DISCOVERY = Path(aggregator.__file__).parent / "data" / "youtube.v3.json"

_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")
_STRING_FORMATS = {
    "int64": re.compile(r"-?\d+"),
    "uint64": re.compile(r"\d+"),
    "date-time": _DATE_TIME,
    "google-datetime": _DATE_TIME,
}
_INTEGER_RANGES = {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1)}


@cache
def schemas() -> dict[str, Any]:
    return dict(json.loads(DISCOVERY.read_text(encoding="utf-8"))["schemas"])


def validate(value: Any, schema_name: str) -> list[str]:
    """Every way `value` breaks the named schema, one line each; [] when it conforms."""
    return _check(value, {"$ref": schema_name}, schema_name)


def _check(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    schema = _resolve(schema)
    kind = schema.get("type")
    if kind == "object":
        return _check_object(value, schema, path)
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path}: {value!r} is not an array"]
        return [
            problem
            for index, element in enumerate(value)
            for problem in _check(element, schema.get("items", {}), f"{path}[{index}]")
        ]
    return _check_scalar(value, schema, path)


def _check_object(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: {value!r} is not an object"]
    problems: list[str] = []
    properties = schema.get("properties", {})
    for key, item in value.items():
        item_schema = properties.get(key, schema.get("additionalProperties"))
        if item_schema is None:
            problems.append(f"{path}.{key}: not a property of {schema.get('id', 'the schema')}")
        else:
            problems += _check(item, item_schema, f"{path}.{key}")
    return problems


def _check_scalar(value: Any, schema: dict[str, Any], path: str) -> list[str]:
    kind, form = schema.get("type"), schema.get("format")
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {value!r} is not a string" + (f" ({form})" if form else "")]
        pattern = _STRING_FORMATS.get(form or "")
        if pattern is not None and not pattern.fullmatch(value):
            return [f"{path}: {value!r} is not a {form} string"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{path}: {value!r} is not one of {schema['enum']}"]
        return []
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: {value!r} is not an integer"]
        low, high = _INTEGER_RANGES.get(form or "", (value, value))
        return [] if low <= value <= high else [f"{path}: {value} is out of {form}'s range"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r} is not a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    return [f"{path}: the schema's type {kind!r} is not one this validator knows"]


def defines(schema_name: str, path: str) -> bool:
    """Whether the schema has the key path "items[].snippet.defaultLanguage" (api_shapes'
    notation): a key the recording lacks is documented when the discovery document names it."""
    schema: dict[str, Any] = schemas()[schema_name]
    for step in path.split("."):
        name = step.removesuffix("[]")
        properties = schema.get("properties", {})
        if name in properties:
            schema = _resolve(properties[name])
        elif "additionalProperties" in schema:
            schema = _resolve(schema["additionalProperties"])
        else:
            return False
        if step.endswith("[]"):
            schema = _resolve(schema.get("items", {}))
    return True


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    return dict(schemas()[schema["$ref"]]) if "$ref" in schema else schema
