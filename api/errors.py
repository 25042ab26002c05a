"""Domain errors become JSON with a Chinese and an English message."""

from fastapi import FastAPI, Request
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


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status, headers=headers)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the edge let through (the transaction is rolled back).
        return json_error(
            400, {"zh": "数据库拒绝了该值，请检查输入", "en": "the database refused a value"}
        )
