"""The `supervision` command: a composition root that owns each command's transaction."""

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from supervision.db import make_engine, transaction
from supervision.errors import DomainError
from supervision.settings import get_settings

app = typer.Typer(help="双随机、一公开 监管抽查系统 / double-random supervision scheduler", no_args_is_help=True)
user_app = typer.Typer(help="账号管理 / accounts", no_args_is_help=True)
import_app = typer.Typer(help="批量导入名录 / bulk import of registries", no_args_is_help=True)
audit_app = typer.Typer(help="审计日志 / audit log", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
app.add_typer(audit_app, name="audit")


def _engine():
    engine = make_engine(get_settings().database_url)
    return engine


def _fail(exc: DomainError, extra: dict | None = None) -> None:
    typer.secho(f"错误 / error: {exc.zh}\n  {exc.en}", fg="red", err=True)
    if extra:
        typer.echo(json.dumps(extra, ensure_ascii=False, indent=1), err=True)
    raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from supervision.migrate import upgrade

    engine = _engine()
    upgrade(engine)
    typer.echo(f"数据库已迁移到最新版本 / migrated: {engine.url.render_as_string()}")


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin | planner | reviewer | inspector | liaison")],
    name: Annotated[str, typer.Option(help="显示名称 / display name")],
    badge: Annotated[str | None, typer.Option(help="inspector 角色的执法证号")] = None,
    password: Annotated[
        str | None, typer.Option(help="omit to be prompted; or set SUPERVISION_NEW_PASSWORD")
    ] = None,
) -> None:
    """Add a user account."""
    import os

    from pydantic import ValidationError

    from supervision.accounts.service import UserCreate, create_user

    password = password or os.environ.get("SUPERVISION_NEW_PASSWORD")
    if password is None:
        password = getpass.getpass("密码 / password: ")
    try:
        data = UserCreate(
            username=username, display_name=name, password=password, role=role,
            inspector_badge=badge,
        )
    except ValidationError as e:
        typer.secho(f"输入无效 / invalid input:\n{e}", fg="red", err=True)
        raise typer.Exit(2) from None
    try:
        with transaction(_engine()) as session:
            create_user(session, data, actor="cli")
    except DomainError as e:
        _fail(e)
    typer.echo(f"已创建用户 {username}（{role}） / user created")


def _run_import(kind: str, file: Path) -> None:
    from tqdm import tqdm

    from supervision.registry import importer

    if not file.is_file():
        typer.secho(f"文件不存在 / no such file: {file}", fg="red", err=True)
        raise typer.Exit(2)
    fn = importer.import_entities if kind == "entities" else importer.import_inspectors
    size = file.stat().st_size
    with tqdm(unit=" 行", desc=f"导入{file.name}", disable=not sys.stderr.isatty() and size < 10_000_000) as bar:
        last = {"n": 0}

        def progress(done: int) -> None:
            bar.update(done - last["n"])
            last["n"] = done

        try:
            with transaction(_engine()) as session, file.open("rb") as fh:
                report = fn(session, fh, filename=file.name, actor="cli", progress=progress)
        except importer.ImportFailed as e:
            bar.close()
            _fail(e, e.report.to_dict())
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))


@import_app.command("entities")
def import_entities(file: Path) -> None:
    """Import market entities from CSV or XLSX (all or nothing; upsert by USCC)."""
    _run_import("entities", file)


@import_app.command("inspectors")
def import_inspectors(file: Path) -> None:
    """Import inspectors from CSV or XLSX (all or nothing; upsert by badge number)."""
    _run_import("inspectors", file)


@audit_app.command("verify")
def audit_verify() -> None:
    """Verify the hash chain of the audit log end to end."""
    from supervision.audit.service import verify_chain

    with transaction(_engine()) as session:
        report = verify_chain(session)
    if report.ok:
        typer.echo(f"审计链完整，共{report.entries}条 / audit chain intact ({report.entries} rows)")
    else:
        typer.secho(
            f"审计链在第{report.first_bad_id}条处断裂：{report.reason} / chain broken",
            fg="red", err=True,
        )
        raise typer.Exit(1)


DEMO_USERS = (
    ("admin", "系统管理员", "admin", None),
    ("planner", "计划科 张敏", "planner", None),
    ("reviewer", "法规科 刘芳", "reviewer", None),
    ("liaison", "发改委信用平台", "liaison", None),
)
DEMO_PASSWORD = "demo-password"


@app.command()
def demo(
    entities: Annotated[int, typer.Option(help="number of market entities")] = 60_000,
    inspectors: Annotated[int, typer.Option(help="number of inspectors")] = 110,
    seed: Annotated[int, typer.Option(help="generator seed (same seed, same city)")] = 2018,
    if_empty: Annotated[bool, typer.Option("--if-empty", help="only when no entity exists")] = False,
) -> None:
    """Load the demo city (a 昌吉市-like registry) through the real import path."""
    import tempfile

    from sqlmodel import func, select

    from supervision.accounts.models import User
    from supervision.accounts.service import UserCreate, create_user
    from supervision.clock import SystemClock
    from supervision.demo.generator import build_demo_city
    from supervision.migrate import upgrade
    from supervision.registry.models import Entity, Inspector

    settings = get_settings()
    engine = _engine()
    upgrade(engine)
    with transaction(engine) as session:
        if if_empty and session.exec(select(func.count()).select_from(Entity)).one():
            typer.echo("演示数据已存在，跳过 / demo data present, skipped")
            return
    clock = SystemClock()
    with tempfile.TemporaryDirectory() as work, transaction(engine) as session:
        counts = build_demo_city(
            session, settings.data_dir, Path(work), entities=entities, inspectors=inspectors,
            seed=seed, clock=clock,
        )
        accounts = list(DEMO_USERS)
        first_inspector = session.exec(
            select(Inspector).where(Inspector.active == True).order_by(Inspector.badge_no)  # noqa: E712
        ).first()
        if first_inspector is not None:
            accounts.append(("inspector", first_inspector.name, "inspector", first_inspector.badge_no))
        for username, display, role, badge in accounts:
            if session.exec(select(User).where(User.username == username)).first():
                continue
            create_user(
                session,
                UserCreate(username=username, display_name=display, password=DEMO_PASSWORD,
                           role=role, inspector_badge=badge),
                actor="demo", clock=clock,
            )
    typer.echo(json.dumps(counts, ensure_ascii=False))
    typer.echo("演示账号 / demo accounts (password: " + DEMO_PASSWORD + "):")
    for username, display, role, _ in accounts:
        typer.echo(f"  {username:<10} {role:<10} {display}")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
) -> None:
    """Serve the web application (API and pages)."""
    import uvicorn

    from supervision.migrate import upgrade

    upgrade(_engine())
    uvicorn.run("api.main:app", host=host, port=port, reload=reload, log_level="info")


if __name__ == "__main__":
    app()
