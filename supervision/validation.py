"""The base of every request schema: unknown fields refused, text trimmed, NUL refused.

NUL is refused everywhere at the edge because PostgreSQL cannot store it in text and a value
that SQLite would keep must not become one that PostgreSQL rejects later.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

NUL_MESSAGE = "不能包含空字符（NUL） / NUL characters are not allowed"


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(v) for v in value)
    return False


# What the validation below does to text, said in the JSON schema for clients and the schema
# tests: no NUL anywhere, and a required text (trimmed before its length is checked) must hold
# a character that is neither a space nor NUL.
NO_NUL_PATTERN = r"^[^\x00]*$"
VISIBLE_TEXT_PATTERN = r"^[^\x00]*[^\x00\s][^\x00]*$"


def _describe_text(schema: dict[str, Any]) -> None:
    def mark(s: dict[str, Any]) -> None:
        if s.get("type") != "string" or {"pattern", "format", "enum", "const"} & s.keys():
            return
        s["pattern"] = VISIBLE_TEXT_PATTERN if s.get("minLength", 0) >= 1 else NO_NUL_PATTERN

    for prop in schema.get("properties", {}).values():
        mark(prop)
        for option in prop.get("anyOf", []):
            mark(option)
        if isinstance(prop.get("items"), dict):
            mark(prop["items"])


class StrictInput(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        # JSON has no NaN or Infinity (Python's parser accepts them): never a valid number.
        allow_inf_nan=False,
        json_schema_extra=_describe_text,
    )

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if contains_nul(data):
            raise ValueError(NUL_MESSAGE)
        return data
