"""Domain errors become JSON with a Chinese and an English message."""

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError

from supervision.errors import DomainError


class ErrorDetail(BaseModel):
    zh: str
    en: str


class ErrorResponse(BaseModel):
    detail: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409)
}


def json_error(status: int, detail: dict) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _finite(value: Any, found: list[bool]) -> Any:
    """The value with every NaN or infinity replaced by its name (JSON has neither); ``found``
    gets True appended for each one replaced."""
    if isinstance(value, float) and not math.isfinite(value):
        found.append(True)
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v, found) for v in value]
    return value


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own 422, but able to echo a NaN or Infinity a client sent (the JSON
        # parser accepts them; no field does): said plainly instead of failing to answer.
        found: list[bool] = []
        errors = _finite(jsonable_encoder(exc.errors()), found)
        if found:
            errors.insert(
                0,
                {
                    "type": "non_finite_number",
                    "loc": ["body"],
                    "msg": "NaN 和 Infinity 不是有效的数值 / NaN and Infinity are not valid numbers",
                },
            )
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        if exc.status == 429 and "retry_after" in exc.extra:
            headers = {"Retry-After": str(exc.extra["retry_after"])}
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status, headers=headers)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the edge let through (the transaction is rolled back).
        return json_error(
            400, {"zh": "数据库拒绝了该值，请检查输入", "en": "the database refused a value"}
        )
