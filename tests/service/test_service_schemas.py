"""The schema types: validation and the JSON Schema they render agree."""
from __future__ import annotations

import jsonschema
import pytest

from service.errors import ValidationError
from service.schemas import Array, Boolean, Integer, Nullable, Number, Object, String

SCHEMA = Object({
    "name": String(max_length=5, non_blank=True),
    "kind": String(enum=("a", "b")),
    "n": Integer(minimum=0, maximum=3),
    "x": Number(minimum=0, maximum=1),
    "flag": Boolean(),
    "tags": Array(String(), min_items=1, max_items=2),
    "note": Nullable(String()),
}, required=("name",))


@pytest.mark.parametrize("value, code, field", [
    ({"name": "ok"}, None, None),
    ({"name": "ok", "kind": "b", "n": 3, "x": 0.5, "flag": False, "tags": ["t"], "note": None}, None, None),
    ({}, "missing_field", "name"),
    ({"name": ""}, "empty_value", "name"),
    ({"name": "toolong"}, "too_long", "name"),
    ({"name": "ok", "kind": "c"}, "invalid_value", "kind"),
    ({"name": "ok", "n": 4}, "invalid_value", "n"),
    ({"name": "ok", "n": 1.5}, "wrong_type", "n"),
    ({"name": "ok", "n": False}, "wrong_type", "n"),
    ({"name": "ok", "x": 2}, "invalid_value", "x"),
    ({"name": "ok", "x": "1"}, "wrong_type", "x"),
    ({"name": "ok", "flag": 1}, "wrong_type", "flag"),
    ({"name": "ok", "tags": []}, "empty_value", "tags"),
    ({"name": "ok", "tags": ["a", "b", "c"]}, "too_many_items", "tags"),
    ({"name": "ok", "tags": ["a", 2]}, "wrong_type", "tags[1]"),
    ({"name": "ok", "note": 3}, "wrong_type", "note"),
    ({"name": "ok", "other": 1}, "unknown_field", "other"),
    ([], "wrong_type", None),
])
def test_validation_and_json_schema_agree(value, code, field):
    json_valid = jsonschema.Draft202012Validator(SCHEMA.to_json_schema()).is_valid(value)
    if code is None:
        assert SCHEMA.validate(value) == value
        assert json_valid
    else:
        with pytest.raises(ValidationError) as caught:
            SCHEMA.validate(value)
        assert (caught.value.error_code, caught.value.field) == (code, field)
        assert not json_valid


def test_named_schemas_become_components():
    inner = Object({"a": String()}, name="Inner")
    outer = Object({"one": inner, "many": Array(inner)}, name="Outer")
    components = {}
    assert outer.to_json_schema(components) == {"$ref": "#/components/schemas/Outer"}
    assert set(components) == {"Inner", "Outer"}
    assert components["Outer"]["properties"]["many"]["items"] == {"$ref": "#/components/schemas/Inner"}
