"""One owner per request: the session dependency commits on success and rolls back when the
handler raises or answers ≥ 400; handlers never commit or roll back (checked in the source)."""

import ast
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.deps import SessionDep, mark_refused
from api.errors import install_error_handlers
from supervision.errors import Invalid
from supervision.registry.models import Department

ROOT = Path(__file__).resolve().parents[2]


def _app(engine) -> FastAPI:
    app = FastAPI()
    app.state.engine = app.state.read_engine = engine
    app.state.sqlite = engine.dialect.name == "sqlite"
    install_error_handlers(app)

    @app.post("/ok/{code}")
    def ok(code: str, session: SessionDep) -> PlainTextResponse:
        session.add(Department(code=code, name="部门"))
        session.flush()
        return PlainTextResponse("ok")

    @app.post("/refused/{code}")
    def refused(code: str, request: Request, session: SessionDep) -> PlainTextResponse:
        session.add(Department(code=code, name="部门"))
        session.flush()
        mark_refused(request)  # what a page rendered with status ≥ 400 does
        return PlainTextResponse("请修改后重新提交", status_code=400)

    @app.post("/raises/{code}")
    def raises(code: str, session: SessionDep) -> PlainTextResponse:
        session.add(Department(code=code, name="部门"))
        session.flush()
        raise Invalid("不可以", "refused")

    return app


def test_the_session_dependency_is_the_one_owner(fresh_engine) -> None:
    app = _app(fresh_engine)
    with TestClient(app) as client:
        assert client.post("/ok/D1").status_code == 200
        assert client.post("/refused/D2").status_code == 400
        assert client.post("/raises/D3").status_code == 400
    with Session(fresh_engine) as session:
        codes = set(session.exec(select(Department.code)).all())
    assert "D1" in codes and "D2" not in codes and "D3" not in codes


def test_no_handler_commits_or_rolls_back() -> None:
    wrong = []
    for path in [*(ROOT / "api").rglob("*.py")]:
        if path.name == "deps.py":
            continue  # the owner itself
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback"):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
    assert not wrong, wrong
