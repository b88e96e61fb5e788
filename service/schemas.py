"""Request and response schemas: the routes validate with them and the OpenAPI document is built
from them, so what is documented and what is accepted cannot drift apart.

A schema validates a decoded JSON value and returns it (strings unchanged), or raises
:class:`service.errors.ValidationError` naming the offending field, e.g. ``texts[3]``.
``to_json_schema`` renders the same rules as JSON Schema (the dialect of OpenAPI 3.1).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from classifier.prediction import CATEGORIES, LABELS, OUTPUT_COLUMNS
from service.errors import ValidationError


def _name(path: str) -> str:
    return path or "body"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Schema:
    """Base of the schema types; ``name`` makes it a reusable OpenAPI component."""

    json_type = ""

    def __init__(self, description: str = "", name: str | None = None, example=None):
        self.description = description
        self.name = name
        self.example = example

    def validate(self, value, path: str = ""):
        """Check ``value`` and return it, or raise :class:`ValidationError`."""
        raise NotImplementedError

    def _schema(self, components: dict | None) -> dict:
        return {"type": self.json_type}

    def to_json_schema(self, components: dict | None = None) -> dict:
        """The JSON Schema of this type.

        Parameters
        ----------
        components : dict, optional
            When given, named schemas are stored there once and referenced with ``$ref``.
        """
        if self.name and components is not None:
            if self.name not in components:
                components[self.name] = {}  # reserve the name first: a schema may refer to itself
                components[self.name] = self._described(components)
            return {"$ref": f"#/components/schemas/{self.name}"}
        return self._described(components)

    def _described(self, components: dict | None) -> dict:
        schema = self._schema(components)
        if self.description:
            schema["description"] = self.description
        if self.example is not None:
            schema["examples"] = [self.example]
        return schema

    def _wrong_type(self, path: str, value) -> ValidationError:
        return ValidationError("wrong_type", f"{_name(path)} must be {self.json_type_name()}, "
                                             f"not {_json_type_of(value)}", path)

    def json_type_name(self) -> str:
        return {"object": "an object", "array": "an array", "integer": "an integer"}.get(
            self.json_type, f"a {self.json_type}")


def _json_type_of(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# What counts as blank: white space to Python (str.isspace) or to the ECMA regexes of JSON Schema
# (which add the BOM). One set for both, so the documented pattern and the check agree.
_BLANK_CHARS = r"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_NOT_BLANK = re.compile(f"[^{_BLANK_CHARS}]")


class String(Schema):
    """A string; ``non_blank`` rejects empty and whitespace-only values."""

    json_type = "string"

    def __init__(self, max_length: int | None = None, non_blank: bool = False, enum=None, **kwargs):
        super().__init__(**kwargs)
        self.max_length = max_length
        self.non_blank = non_blank
        self.enum = tuple(enum) if enum else None

    def validate(self, value, path: str = ""):
        if not isinstance(value, str):
            raise self._wrong_type(path, value)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # JSON can carry "\ud800"; no store or encoder takes it
            bad = ord(value[exc.start])
            raise ValidationError("invalid_text", f"{_name(path)} holds an unpaired surrogate (\\u{bad:04x}) at "
                                                  f"position {exc.start}", path) from None
        if self.non_blank and not _NOT_BLANK.search(value):
            raise ValidationError("empty_value", f"{_name(path)} must not be empty", path)
        if self.max_length is not None and len(value) > self.max_length:
            raise ValidationError("too_long", f"{_name(path)} has {len(value)} characters; the limit is "
                                              f"{self.max_length}", path)
        if self.enum and value not in self.enum:
            raise ValidationError("invalid_value", f"{_name(path)} must be one of {', '.join(self.enum)}", path)
        return value

    def _schema(self, components):
        schema = {"type": "string"}
        if self.non_blank:
            schema.update(minLength=1, pattern=_NOT_BLANK.pattern)
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.enum:
            schema["enum"] = list(self.enum)
        return schema


class Integer(Schema):
    """An integer (booleans are not integers here, unlike in Python)."""

    json_type = "integer"

    def __init__(self, minimum: int | None = None, maximum: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.minimum, self.maximum = minimum, maximum

    def validate(self, value, path: str = ""):
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON Schema counts 1.0 as an integer; so do we
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong_type(path, value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValidationError("invalid_value", f"{_name(path)} must be between {self.minimum} and {self.maximum}", path)
        return value

    def _schema(self, components):
        schema = {"type": "integer"}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


class Number(Integer):
    """A number; used to document responses."""

    json_type = "number"

    def validate(self, value, path: str = ""):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._wrong_type(path, value)
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise ValidationError("invalid_value", f"{_name(path)} must be between {self.minimum} and {self.maximum}", path)
        return value

    def _schema(self, components):
        schema = super()._schema(components)
        schema["type"] = "number"
        return schema


class Boolean(Schema):
    json_type = "boolean"

    def validate(self, value, path: str = ""):
        if not isinstance(value, bool):
            raise self._wrong_type(path, value)
        return value


class Array(Schema):
    """A list of ``items``; ``min_items``/``max_items`` bound its length."""

    json_type = "array"

    def __init__(self, items: Schema, min_items: int = 0, max_items: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.items, self.min_items, self.max_items = items, min_items, max_items

    def validate(self, value, path: str = ""):
        if not isinstance(value, list):
            raise self._wrong_type(path, value)
        if len(value) < self.min_items:
            raise ValidationError("empty_value", f"{_name(path)} needs at least {self.min_items} item(s)", path)
        if self.max_items is not None and len(value) > self.max_items:
            raise ValidationError("too_many_items", f"{_name(path)} has {len(value)} items; the limit is "
                                                    f"{self.max_items}", path)
        return [self.items.validate(item, f"{path}[{i}]") for i, item in enumerate(value)]

    def _schema(self, components):
        schema = {"type": "array", "items": self.items.to_json_schema(components)}
        if self.min_items:
            schema["minItems"] = self.min_items
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema


class Object(Schema):
    """A JSON object with known properties.

    Parameters
    ----------
    properties : dict of str to Schema
    required : sequence of str
    one_of : sequence of str, optional
        Exactly one of these properties must be present (``text`` or ``texts``).
    additional : bool
        Whether unknown properties are allowed; requests say no, so typos are caught.
    """

    json_type = "object"

    def __init__(self, properties: dict[str, Schema], required=(), one_of=(), additional=False, **kwargs):
        super().__init__(**kwargs)
        self.properties, self.required = properties, tuple(required)
        self.one_of, self.additional = tuple(one_of), additional

    def validate(self, value, path: str = ""):
        if not isinstance(value, dict):
            raise self._wrong_type(path, value)
        if not self.additional:
            for key in value:
                if key not in self.properties:
                    raise ValidationError("unknown_field", f"unknown field {_join(path, key)!r}; expected one of "
                                                           f"{', '.join(self.properties)}", _join(path, key))
        for key in self.required:
            if key not in value:
                raise ValidationError("missing_field", f"{_join(path, key)} is required", _join(path, key))
        self._check_one_of(value, path)
        return {key: self.properties[key].validate(item, _join(path, key)) if key in self.properties else item
                for key, item in value.items()}

    def _check_one_of(self, value: dict, path: str) -> None:
        if not self.one_of:
            return
        present = [key for key in self.one_of if key in value]
        if not present:
            raise ValidationError("missing_field", f"send one of {' or '.join(self.one_of)}",
                                  _join(path, self.one_of[0]))
        if len(present) > 1:
            raise ValidationError("conflicting_fields", f"send only one of {' or '.join(self.one_of)}",
                                  _join(path, present[1]))

    def _schema(self, components):
        schema = {"type": "object",
                  "properties": {k: s.to_json_schema(components) for k, s in self.properties.items()}}
        if self.required:
            schema["required"] = list(self.required)
        if self.one_of:
            schema["oneOf"] = [{"required": [key]} for key in self.one_of]
        if not self.additional:
            schema["additionalProperties"] = False
        return schema


class Map(Schema):
    """A free-form object (manifest metrics); documented, never used to validate input."""

    json_type = "object"

    def validate(self, value, path: str = ""):
        if not isinstance(value, dict):
            raise self._wrong_type(path, value)
        return value


class Nullable(Schema):
    """``inner`` or null."""

    def __init__(self, inner: Schema, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def validate(self, value, path: str = ""):
        return None if value is None else self.inner.validate(value, path)

    def _schema(self, components):
        return {"anyOf": [self.inner.to_json_schema(components), {"type": "null"}]}


class StringOrObject(Schema):
    """A string, or an object that spells it out with more fields (a text, or a text with its title)."""

    def __init__(self, string: String, obj: Object, **kwargs):
        super().__init__(**kwargs)
        self.string, self.obj = string, obj

    def validate(self, value, path: str = ""):
        if isinstance(value, str):
            return self.string.validate(value, path)
        if isinstance(value, dict):
            return self.obj.validate(value, path)
        raise ValidationError("wrong_type", f"{_name(path)} must be a string or an object, "
                                            f"not {_json_type_of(value)}", path)

    def _schema(self, components):
        return {"oneOf": [self.string.to_json_schema(components), self.obj.to_json_schema(components)]}


# ---------------------------------------------------------------------------- limits
MAX_TITLE_CHARS = 500  # a job title, wherever one is sent


@dataclass(frozen=True)
class Limits:
    """Request limits from the app config (``OUTSORT_MAX_*``)."""
    max_texts: int = 1000
    max_text_chars: int = 10_000
    max_jobs: int = 100
    max_job_chars: int = 50_000

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(config["MAX_TEXTS"], config["MAX_TEXT_CHARS"], config["MAX_JOBS"], config["MAX_JOB_CHARS"])


# ---------------------------------------------------------------------------- requests
def classify_request(limits: Limits) -> Object:
    """Body of ``POST /v1/classify``."""
    text = String(max_length=limits.max_text_chars, non_blank=True, description="One work description.")
    title = String(max_length=MAX_TITLE_CHARS, description="The job title the work belongs to: the text is read in "
                                                           "the light of that role (\"\" for none).")
    titled_text = Object({"text": text, "title": title}, required=("text",), name="TitledText",
                         description="A work description with its own job title.")
    return Object({
        "text": text,
        "texts": Array(StringOrObject(text, titled_text), min_items=1, max_items=limits.max_texts,
                       description="Several work descriptions: each a string, or an object with its own title."),
        "title": String(max_length=MAX_TITLE_CHARS,
                        description="Job title of all the texts (optional); a text's own title comes first."),
        "explain": Boolean(description="Include the terms behind each score (default true)."),
    }, one_of=("text", "texts"), name="ClassifyRequest",
        example={"texts": ["Reconcile vendor statements against the ledger",
                           {"text": "Provide information to employees on payroll matters", "title": "Payroll Clerk"}]})


def job_schema(limits: Limits) -> Object:
    return Object({
        "title": String(max_length=MAX_TITLE_CHARS, description="Job title (optional)."),
        "description": String(max_length=limits.max_job_chars, non_blank=True,
                               description="The job description as written; bullets and headings are fine."),
    }, required=("description",), name="Job")


def jobs_request(limits: Limits) -> Object:
    """Body of ``POST /v1/jobs`` (JSON); ``text/plain`` bodies are one description."""
    job = job_schema(limits)
    return Object({
        "title": job.properties["title"],
        "description": job.properties["description"],
        "jobs": Array(job, min_items=1, max_items=limits.max_jobs),
        "explain": Boolean(description="Include the terms behind each task's scores (default false)."),
    }, one_of=("description", "jobs"), name="JobsRequest",
        example={"title": "Accounts payable clerk",
                 "description": "Responsibilities:\n- Process vendor invoices\n- Answer supplier calls"})


def titles_request(limits: Limits) -> Object:
    """Body of ``POST /v1/titles``."""
    title = String(max_length=MAX_TITLE_CHARS, non_blank=True, description="One job title.")
    return Object({
        "title": title,
        "titles": Array(title, min_items=1, max_items=limits.max_texts, description="Several job titles."),
        "explain": Boolean(description="Include the title's words and the nearest O*NET occupations (default true)."),
    }, one_of=("title", "titles"), name="TitlesRequest", example={"titles": ["Accounts Payable Clerk", "Data Scientist"]})


def titles_response() -> Object:
    share = Number(minimum=0, maximum=1)
    term = _term()
    occupation = Object({"title": String(), "onet_soc_code": String(), "occupation": String(),
                         "similarity": share}, required=("title", "onet_soc_code", "occupation", "similarity"),
                        name="NearestOccupation")
    answer = Object({
        "title": String(), "category": String(enum=LABELS),
        "share_bpo_front_office": share, "share_bpo_back_office": share, "share_kpo": share,
        "share_not_outsourceable": share, "automation_score": share,
        "automation_level": Integer(minimum=0, maximum=4),
        "terms": Array(term, description="The title's words that pushed the label, with their weights."),
        "nearest_occupations": Array(occupation, description="The O*NET titles most like this one."),
    }, required=("title", "category", "share_bpo_front_office", "share_bpo_back_office", "share_kpo",
                 "share_not_outsourceable", "automation_score", "automation_level", "terms", "nearest_occupations"),
        name="TitlePrediction")
    return Object({"model_version": String(), "titles": Array(answer)}, required=("model_version", "titles"),
                  name="TitlesResponse")


def plain_job_request(limits: Limits) -> String:
    """A ``text/plain`` body of ``POST /v1/jobs``: one description."""
    return String(max_length=limits.max_job_chars, non_blank=True,
                  description="One job description; the title may be given as the `title` query parameter.")


def feedback_request(limits: Limits) -> Object:
    """Body of ``POST /v1/feedback``."""
    return Object({
        "text": String(max_length=limits.max_text_chars, non_blank=True, description="The text that was classified."),
        "category": String(enum=LABELS, description="The right label."),
        "automation_level": Integer(minimum=0, maximum=4, description="The right automation level, 0-4."),
        "prediction_id": String(max_length=200, description="The `id` of the prediction being corrected."),
        "comment": String(max_length=2000),
    }, required=("text", "category"), name="FeedbackRequest",
        example={"text": "Answer customer calls", "category": "bpo_front_office", "automation_level": 2})


# ---------------------------------------------------------------------------- responses
def _term() -> Object:
    return Object({"term": String(), "weight": Number(),
                   "from_title": Boolean(description="The word is the job title's, not the text's.")},
                  required=("term", "weight", "from_title"), name="Term")


def _explanation() -> Object:
    return Object({"category": Array(_term()), "automation": Array(_term())}, required=("category", "automation"),
                  name="Explanation", description="Terms that pushed the category and the automation score.")


def _prediction_fields() -> dict[str, Schema]:
    probability = Number(minimum=0, maximum=1)
    fields = {
        "category": String(enum=CATEGORIES), "confidence": probability,
        "p_bpo_front_office": probability, "p_bpo_back_office": probability, "p_kpo": probability,
        "outsourceable": probability, "out_of_scope": Boolean(),
        "automation_score": probability, "automation_level": Integer(minimum=0, maximum=4),
    }
    assert tuple(fields) == OUTPUT_COLUMNS  # the CLI contract: same fields, same order
    return fields


def prediction_schema() -> Object:
    fields = {"id": String(description="Quote it as `prediction_id` when sending feedback."),
              **_prediction_fields(), "explanation": _explanation()}
    return Object(fields, required=("id", *OUTPUT_COLUMNS), name="Prediction")


def classify_response() -> Object:
    return Object({"model_version": String(), "predictions": Array(prediction_schema())},
                  required=("model_version", "predictions"), name="ClassifyResponse")


def _task_schema() -> Object:
    return Object({"text": String(), "duty_probability": Number(minimum=0, maximum=1),
                   **_prediction_fields(), "explanation": _explanation()},
                  required=("text", "duty_probability", *OUTPUT_COLUMNS), name="JobTask")


def job_prediction_schema() -> Object:
    share = Number(minimum=0, maximum=1)
    segment = Object({"text": String(), "kind": String(), "duty_probability": share},
                     required=("text", "kind", "duty_probability"), name="LeftOut",
                     description="A part of the description that is not taken as a duty, what the duty finder "
                                 "took it to be, and its probability of being a duty all the same.")
    term = _term()
    return Object({
        "title": String(), "category": String(enum=LABELS),
        "share_bpo_front_office": share, "share_bpo_back_office": share, "share_kpo": share,
        "share_not_outsourceable": share, "automation_score": share,
        "automation_level": Integer(minimum=0, maximum=4), "n_tasks": Integer(minimum=0),
        "tasks": Array(_task_schema()), "left_out": Array(segment),
        "title_weight": Number(minimum=0, maximum=1, description="How much of the shares came from the title."),
        "duty_weight": Number(minimum=0, maximum=1, description="How much of the shares came from the duties."),
        "title_terms": Array(term, description="With explain: the title's words that drove the job label."),
    }, required=("title", "category", "share_bpo_front_office", "share_bpo_back_office", "share_kpo",
                 "share_not_outsourceable", "automation_score", "automation_level", "n_tasks", "tasks", "left_out",
                 "title_weight", "duty_weight"),
        name="JobPrediction")


def jobs_response() -> Object:
    return Object({"model_version": String(), "jobs": Array(job_prediction_schema())},
                  required=("model_version", "jobs"), name="JobsResponse")


def feedback_response() -> Object:
    return Object({"id": Integer(), "status": String(enum=("stored",))}, required=("id", "status"),
                  name="FeedbackResponse")


def model_response() -> Object:
    return Object({
        "version": String(), "created": String(), "sha256": String(), "loaded_at": String(),
        "labels": Array(String()), "metrics": Map(), "trained_on": Map(), "thresholds": Map(),
        "libraries": Map(), "parent": Nullable(String()),
    }, required=("version", "labels", "metrics", "loaded_at"), additional=True, name="ModelInfo")


def status_response() -> Object:
    return Object({"status": String(), "model_version": Nullable(String()), "detail": String()},
                  required=("status",), additional=True, name="Status")


def reload_response() -> Object:
    return Object({"status": String(enum=("swapped", "unchanged")), "version": String(),
                   "previous_version": Nullable(String())}, required=("status", "version"), name="ReloadResponse")


def error_response() -> Object:
    return Object({"error": Object({
        "code": String(description="Stable, machine-readable: e.g. too_long, unknown_field."),
        "message": String(description="For people; may change."),
        "field": Nullable(String(), description="The offending field, e.g. texts[3], or null."),
    }, required=("code", "message", "field"))}, required=("error",), name="Error")
