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


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if contains_nul(data):
            raise ValueError(NUL_MESSAGE)
        return data
