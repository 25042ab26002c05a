"""Errors a person reads: each carries a Chinese and an English message."""

from typing import Any


class DomainError(Exception):
    """A refused operation. `status` hints at the HTTP status the API should answer with."""

    status = 400

    def __init__(self, zh: str, en: str, **extra: Any) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en
        self.extra = extra

    def detail(self) -> dict[str, Any]:
        return {"zh": self.zh, "en": self.en, **self.extra}


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class Forbidden(DomainError):
    status = 403


class Invalid(DomainError):
    """Well-formed input that breaks a domain rule (schema errors are FastAPI's 422)."""

    status = 400


class TooManyAttempts(DomainError):
    """Too many failed sign-ins: wait `retry_after` seconds."""

    status = 429
