"""The `supervision` command: a composition root that owns each command's transaction."""

import getpass
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from supervision.db import make_engine, transaction
from supervision.errors import DomainError, Invalid
from supervision.planning.ceremony import CeremonyRules
from supervision.planning.models import RECUSAL_REASONS
from supervision.settings import get_settings

app = typer.Typer(
    help="双随机、一公开 监管抽查系统 / double-random supervision scheduler", no_args_is_help=True
)
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
            username=username,
            display_name=name,
            password=password,
            role=role,
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


def _run_import(kind: str, file: Path, **options: str | None) -> None:
    from tqdm import tqdm

    from supervision.registry import importer

    if not file.is_file():
        typer.secho(f"文件不存在 / no such file: {file}", fg="red", err=True)
        raise typer.Exit(2)
    fn = {
        "entities": importer.import_entities,
        "inspectors": importer.import_inspectors,
        "tax-filings": importer.import_tax_filings,
    }[kind]
    size = file.stat().st_size
    with tqdm(
        unit=" 行", desc=f"导入{file.name}", disable=not sys.stderr.isatty() and size < 10_000_000
    ) as bar:
        last = {"n": 0}

        def progress(done: int) -> None:
            bar.update(done - last["n"])
            last["n"] = done

        try:
            with transaction(_engine()) as session, file.open("rb") as fh:
                report = fn(
                    session,
                    fh,
                    filename=file.name,
                    actor="cli",
                    progress=progress,
                    **{k: v for k, v in options.items() if v},
                )
        except importer.ImportFailed as e:
            bar.close()
            _fail(e, e.report.to_dict())
    typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))


@import_app.command("entities")
def import_entities(
    file: Path,
    unit: Annotated[
        str | None,
        typer.Option(
            help="默认管辖单位（代码或名称）：文件无管辖单位列且无法从住所推断时使用 / "
            "default supervising unit where the file has none and the address gives none"
        ),
    ] = None,
    snapshot_of: Annotated[
        str | None,
        typer.Option(
            help="全量快照范围（管辖单位或行政区划代码）：库中该范围内、文件未列出的主体将列出供核实"
            "（不删除） / the file is a full snapshot of this unit or region"
        ),
    ] = None,
) -> None:
    """Import market entities from CSV or XLSX (all or nothing; upsert by USCC).

    Exports as registration systems write them: title rows above the header, headers and
    values under their usual names (data/import/), the unit derived from the address."""
    _run_import("entities", file, default_unit=unit, snapshot_of=snapshot_of)


@import_app.command("inspectors")
def import_inspectors(file: Path) -> None:
    """Import inspectors from CSV or XLSX (all or nothing; upsert by badge number)."""
    _run_import("inspectors", file)


@import_app.command("tax-filings")
def import_tax_filings(file: Path) -> None:
    """Import tax filings (统一社会信用代码, 年度, 是否申报/申报日期) exchanged with the tax office
    (all or nothing; upsert by USCC and year; the entities must be registered)."""
    _run_import("tax-filings", file)


@audit_app.command("verify")
def audit_verify(
    anchors_file: Annotated[
        Path | None,
        typer.Option(
            "--anchors",
            help="published heads kept elsewhere (the JSON of /api/v1/public/audit-anchors)",
        ),
    ] = None,
) -> None:
    """Verify the hash chain of the audit log end to end, and that every published head
    (the database's own record of them, and those in --anchors) is still in it."""
    from supervision.audit.service import Anchor, anchors, verify_chain

    kept: list[Anchor] = []
    if anchors_file is not None:
        try:
            rows = json.loads(anchors_file.read_text(encoding="utf-8"))
            kept = [
                Anchor(str(r["anchored_on"]), int(r["entry_id"]), int(r["entries"]), str(r["hash"]))
                for r in rows
            ]
        except (OSError, ValueError, KeyError, TypeError) as e:
            typer.secho(f"锚点文件无法读取 / unreadable anchors file: {e}", fg="red", err=True)
            raise typer.Exit(2) from None
    with transaction(_engine()) as session:
        own = anchors(session)
        known = {a.entry_id for a in own}
        report = verify_chain(session, own + [a for a in kept if a.entry_id not in known])
        # A kept anchor the database no longer lists is still checked (above); one that the
        # database lists differently is a rewrite of the anchors themselves.
        clash = [a for a in kept if a.entry_id in known and a not in own]
    if report.ok and clash:
        typer.secho(
            f"锚点记录与保存的副本不一致（第{clash[0].entry_id}条）/ anchors differ from the kept copy",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
    if report.ok:
        typer.echo(
            f"审计链完整，共{report.entries}条，{report.anchors_checked}个已公布的链头均在链中 / "
            f"audit chain intact ({report.entries} rows, {report.anchors_checked} anchors)"
        )
    else:
        typer.secho(
            f"审计链在第{report.first_bad_id}条处断裂：{report.reason} / chain broken",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)


@app.command()
def demo(
    entities: Annotated[
        int | None, typer.Option(min=100, help="number of market entities (default 60,000)")
    ] = None,
    inspectors: Annotated[
        int | None, typer.Option(min=10, help="number of inspectors (default 110; 140 for a year)")
    ] = None,
    seed: Annotated[int, typer.Option(help="generator seed (same seed, same city)")] = 2018,
    year: Annotated[
        int | None,
        typer.Option(
            min=2015,
            max=2099,
            help="live this year through the services: plan, 19 batches, results, listings",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(help="with --year: the last day lived (default: today, or the year's end)"),
    ] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="only when no entity exists")
    ] = False,
) -> None:
    """Load the demo city (a 昌吉市-like registry) through the real import path; with
    --year, live that year of it through the product's own services."""
    from sqlmodel import func, select

    from supervision.migrate import upgrade
    from supervision.registry.models import Entity

    settings = get_settings()
    engine = _engine()
    upgrade(engine)
    with transaction(engine) as session:
        present = session.exec(select(func.count()).select_from(Entity)).one()
    if if_empty and present:
        typer.echo("演示数据已存在，跳过 / demo data present, skipped")
        return
    if year is not None and present:
        # A year starts from its eve: on a registry already there it would mix two histories.
        typer.secho(
            "演示年度须在空数据库上运行（当前已有市场主体）/ --year needs an empty database",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
    if year is not None:
        _demo_year(engine, settings, year, until, entities, inspectors, seed)
        return
    _demo_today(engine, settings, entities or 60_000, inspectors or 110, seed)


def _demo_accounts_echo(accounts: list) -> None:
    from supervision.demo.accounts import DEMO_PASSWORD

    typer.echo("演示账号 / demo accounts (password: " + DEMO_PASSWORD + "):")
    for username, display, role, _ in accounts:
        typer.echo(f"  {username:<10} {role:<10} {display}")


def _demo_today(engine, settings, entities: int, inspectors: int, seed: int) -> None:
    """The city as of today, with two batches around today's date and the listings due."""
    import tempfile

    from sqlmodel import select

    from supervision.accounts.models import User
    from supervision.clock import SystemClock
    from supervision.demo.accounts import create_demo_accounts
    from supervision.demo.batches import build_demo_batches
    from supervision.demo.consequences import build_demo_consequences
    from supervision.demo.generator import build_demo_city

    clock = SystemClock()
    with tempfile.TemporaryDirectory() as work, transaction(engine) as session:
        counts: dict = build_demo_city(
            session,
            settings.data_dir,
            Path(work),
            entities=entities,
            inspectors=inspectors,
            seed=seed,
            clock=clock,
        )
        counts |= build_demo_batches(
            session, clock=clock, storage=settings.storage_dir, rules=CeremonyRules.of(settings)
        )
        accounts = create_demo_accounts(session, clock)
        reviewer = session.exec(select(User).where(User.username == "reviewer")).one()
        counts |= build_demo_consequences(session, clock=clock, reviewer=reviewer)
    typer.echo(json.dumps(counts, ensure_ascii=False))
    _demo_accounts_echo(accounts)


def _demo_year(
    engine,
    settings,
    year: int,
    until: str | None,
    entities: int | None,
    inspectors: int | None,
    seed: int,
) -> None:
    import time
    from datetime import date

    from supervision.clock import SystemClock, china_day
    from supervision.demo.accounts import DEMO_USERS
    from supervision.demo.year import check_bundles, live_year, year_end

    now = SystemClock().now()  # one reading: the year under way is lived up to this moment
    today = china_day(now)
    try:
        last = date.fromisoformat(until) if until else year_end(year, today)
    except ValueError:
        raise typer.BadParameter(f"日期格式应为 YYYY-MM-DD / not a date: {until!r}") from None
    if not date(year, 1, 1) <= last <= date(year, 12, 31) or last > today:
        raise typer.BadParameter(
            f"--until 须在{year}年内且不晚于今天 / --until must lie in {year}, not after today"
        )
    started = time.monotonic()

    def say(line: str) -> None:
        typer.echo(f"[{time.monotonic() - started:5.0f} s] {line}", err=True)

    out = live_year(
        engine,
        settings,
        year=year,
        until=last,
        stop_at=now if last == today else None,
        entities=entities,
        inspectors=inspectors,
        seed=seed,
        progress=say,
    )
    say("核验每个批次的公开结果包与审计副本（独立 verify.py）…")
    checks = check_bundles(engine, settings, year)
    failed = [c for c in checks if not c.ok]
    f = out
    typer.echo(
        f"{year}年（至{last}）：{f['drawn_batches']}/{f['batches']} 个批次已抽取，"
        f"检查并公示 {f['inspected']} 户，参与执法人员 {f['inspectors']} 名，"
        f"因抽查结果列入经营异常名录 {f['listed_after_checks']} 户"
        f"（全年列入 {f['listed']} 户，含未报年报），处理僵尸企业 {f['zombies_handled']} 户"
    )
    typer.echo(f"结果包核验：{len(checks) - len(failed)}/{len(checks)} 通过（公开副本与审计副本）")
    for c in failed:
        typer.secho(f"  {c.batch} {c.copy}:\n{c.verdict}", fg="red", err=True)
    for line in out["refused"]:
        typer.echo(f"  规则拒绝的步骤 / refused: {line}", err=True)
    _demo_accounts_echo(
        [
            *DEMO_USERS,
            ("inspector", "第一位执法人员（其余执法人员以执法证号登录）", "inspector", None),
        ]
    )
    if failed:
        raise typer.Exit(1)


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    reload: bool = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="worker processes (one per core for lookups)")
    ] = 1,
    with_scheduler: Annotated[
        bool, typer.Option(help="run the daily jobs inside this process")
    ] = True,
) -> None:
    """Serve the web application (API and pages).

    With several workers each runs the embedded scheduler; a job still runs once per slot (the
    job_run table, and an advisory lock on PostgreSQL, admit one runner).
    """
    import os

    import uvicorn

    if with_scheduler:
        os.environ.setdefault("SUPERVISION_EMBEDDED_SCHEDULER", "true")
        # The settings are read once per process: read them again with the switch set (the app
        # is imported in this very process when there is one worker).
        get_settings.cache_clear()
    _check_rulebook()
    from supervision.migrate import upgrade

    upgrade(_engine())
    if reload and workers > 1:
        raise typer.BadParameter(
            "--reload 与 --workers 不能同时使用 / --reload and --workers exclude each other"
        )
    uvicorn.run(
        "api.main:app", host=host, port=port, reload=reload, workers=workers, log_level="info"
    )


# ---- plans, batches, draws ----------------------------------------------------------------

plan_app = typer.Typer(help="年度抽查计划 / annual plans", no_args_is_help=True)
batch_app = typer.Typer(help="抽查批次与抽取 / batches and draws", no_args_is_help=True)
app.add_typer(plan_app, name="plan")
app.add_typer(batch_app, name="batch")


def _check_rulebook() -> None:
    """A long-running process refuses to start on a malformed rulebook (file and key named)."""
    from supervision.enforcement.rulebook import load_rulebook

    try:
        book = load_rulebook(get_settings().data_dir)
    except DomainError as e:
        _fail(e)
    for name, key, note in book.to_confirm():
        typer.secho(f"规则库待核实 / to confirm: {name} · {key}: {note}", fg="yellow", err=True)


def _clock():
    from supervision.clock import SystemClock

    return SystemClock()


def _domain(fn):
    """Run fn(session) in one transaction; a refused operation prints its reason and exits 1."""
    from pydantic import ValidationError

    from supervision.draw.sr1 import Sr1Error

    try:
        with transaction(_engine()) as session:
            return fn(session)
    except DomainError as e:
        _fail(e)
    except (ValidationError, Sr1Error) as e:
        typer.secho(f"输入无效 / invalid input:\n{e}", fg="red", err=True)
        raise typer.Exit(2) from None


@plan_app.command("create")
def plan_create(
    code: str,
    year: int,
    name: str,
    authority: Annotated[str, typer.Option()] = "昌吉市市场监督管理局",
    publish: Annotated[bool, typer.Option(help="publish at once")] = False,
) -> None:
    """Create an annual plan (and optionally publish it)."""
    from supervision.planning import schemas, service

    def run(session):
        service.create_plan(
            session,
            schemas.PlanCreate(code=code, year=year, name=name, authority=authority),
            actor="cli",
            clock=_clock(),
        )
        if publish:
            service.publish_plan(session, code, actor="cli", clock=_clock())

    _domain(run)
    typer.echo(f"计划 {code} 已创建 / plan created")


def _read_spec(model, spec: Path):
    """A JSON spec file as `model`, or a clear error (exit 2) and nothing written."""
    from pydantic import ValidationError

    try:
        return model.model_validate_json(spec.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        typer.secho(f"无法读取 {spec} / cannot read: {e}", fg="red", err=True)
    except ValidationError as e:
        typer.secho(f"{spec} 内容无效 / invalid spec:\n{e}", fg="red", err=True)
    raise typer.Exit(2)


@plan_app.command("template")
def plan_template(plan: str, spec: Path) -> None:
    """Add a recurring batch to PLAN (e.g. quarterly) from a JSON file shaped like the API's
    BatchTemplateCreate body; the scheduler creates each period's batch ahead of time."""
    from supervision.planning import schemas, templates

    data = _read_spec(schemas.BatchTemplateCreate, spec)
    rules = CeremonyRules.of(get_settings())
    _domain(
        lambda s: templates.create_template(s, plan, data, actor="cli", clock=_clock(), rules=rules)
    )
    typer.echo(f"模板 {data.code_prefix} 已加入计划 {plan} / template added")


@batch_app.command("create")
def batch_create(plan: str, spec: Path) -> None:
    """Create a batch in PLAN from a JSON file shaped like the API's BatchCreate body."""
    from supervision.planning import schemas, service

    data = _read_spec(schemas.BatchCreate, spec)
    rules = CeremonyRules.of(get_settings())
    _domain(lambda s: service.create_batch(s, plan, data, actor="cli", clock=_clock(), rules=rules))
    typer.echo(f"批次 {data.code} 已创建 / batch created")


@batch_app.command("feasibility")
def batch_feasibility(code: str) -> None:
    """Show pool, quotas per stratum and whether full teams can be formed."""
    from supervision.planning import feasibility, service

    report = _domain(
        lambda s: feasibility.check_feasibility(s, service.get_batch(s, code)).to_dict()
    )
    typer.echo(json.dumps(report, ensure_ascii=False, indent=1))
    if not report["ok"]:
        raise typer.Exit(1)


@batch_app.command("freeze")
def batch_freeze(
    code: str,
    acknowledge_unassigned: Annotated[
        bool,
        typer.Option(
            "--acknowledge-unassigned",
            help="freeze although some drawn entities would get no full team (recorded)",
        ),
    ] = False,
) -> None:
    """Freeze the pool, roster and conflicts and publish the commitment."""
    from supervision.planning import freeze

    storage = get_settings().storage_dir
    c = _domain(
        lambda s: freeze.freeze_batch(
            s,
            code,
            actor="cli",
            clock=_clock(),
            storage=storage,
            acknowledge_unassigned=acknowledge_unassigned,
            rules=CeremonyRules.of(get_settings()),
        )[0]
    )
    typer.echo(f"承诺 / commitment: {c.commitment}\n参数 / params: {c.params_json}")


@batch_app.command("draw")
def batch_draw(
    code: str,
    entropy: Annotated[list[str], typer.Option("--entropy", "-e", help="repeat for each source")],
    witness: Annotated[
        list[str] | None,
        typer.Option("--witness", "-w", help="见证人“姓名:身份”，可重复 / NAME:ROLE, repeatable"),
    ] = None,
    late_reason: Annotated[
        str | None, typer.Option(help="超过仪式宽限期录入时的迟延原因（公示）/ reason if late")
    ] = None,
) -> None:
    """Enter the public entropy (once) at the announced ceremony and make the draw."""
    from supervision.planning import drawing

    settings = get_settings()
    people = []
    for text in witness or []:
        name, _, role = text.partition(":")
        people.append({"name": name, "role": role})
    d = _domain(
        lambda s: drawing.enter_entropy(
            s,
            code,
            entropy,
            actor="cli",
            clock=_clock(),
            storage=settings.storage_dir,
            rules=CeremonyRules.of(settings),
            witnesses=people,
            late_reason=late_reason,
        )
    )
    typer.echo(
        f"种子 / seed: {d.seed}\n抽中 {d.selected_count} 户，未能组队 {d.unassigned_count} 户"
        f"，计算配对票据 {d.pairing_tickets} 个"
    )


@batch_app.command("recuse")
def batch_recuse(
    code: str,
    uscc: str,
    inspector: str,
    reason: Annotated[str, typer.Argument(help="公开的回避类别：" + "、".join(RECUSAL_REASONS))],
    note: Annotated[str | None, typer.Option(help="内部说明（不公开）")] = None,
) -> None:
    """Record an inspector's recusal from a task; the protocol names the replacement.

    The reason is published in the draw's record as one of the categories; the note is kept
    for the staff only."""
    from supervision.planning import events

    if reason not in RECUSAL_REASONS:
        _fail(
            Invalid(
                f"回避类别须为：{'、'.join(RECUSAL_REASONS)}（具体说明请用 --note，不公开）",
                "the reason must be one of the published categories; put details in --note",
            )
        )
    storage = get_settings().storage_dir
    row = _domain(
        lambda s: events.recuse(
            s,
            code,
            uscc,
            inspector,
            reason,
            actor="cli",
            clock=_clock(),
            storage=storage,
            note=note,
        )
    )
    typer.echo(f"事件 #{row.seq}: {row.outcome_json}  chain {row.chain}")


@batch_app.command("withdraw-entity")
def batch_withdraw_entity(code: str, uscc: str, reason: str) -> None:
    """Withdraw a drawn entity; the first unused reserve entity of its stratum replaces it."""
    from supervision.planning import events

    storage = get_settings().storage_dir
    row = _domain(
        lambda s: events.withdraw_entity(
            s, code, uscc, reason, actor="cli", clock=_clock(), storage=storage
        )
    )
    typer.echo(f"事件 #{row.seq}: {row.outcome_json}  chain {row.chain}")


@batch_app.command("export")
def batch_export(
    code: str,
    out: Annotated[Path, typer.Option("--out", help="folder to write")],
    with_private: Annotated[
        bool, typer.Option("--with-private", help="include conflicts.tsv (and sr2's strata.tsv)")
    ] = False,
) -> None:
    """Write the batch's bundle folder (bundle.json, pool.tsv, roster.tsv[, conflicts.tsv,
    strata.tsv]): the auditor's copy with --with-private."""
    from supervision.planning import bundle

    storage = get_settings().storage_dir
    files = _domain(lambda s: bundle.export_bundle(s, code, storage=storage))
    bundle.write_bundle_dir(files, out, with_private=with_private)
    typer.echo(f"已导出到 / written to {out}")


@batch_app.command("credential")
def batch_credential(code: str, uscc: str) -> None:
    """Print one entity's sealed-draw credential (抽取核验凭据): its class and salt (sr2)."""
    from supervision.planning import queries

    storage = get_settings().storage_dir
    cred = _domain(lambda s: queries.entity_credential(s, code, uscc, storage=storage))
    typer.echo(
        f"抽取核验凭据 / credential — {cred['batch']} {cred['uscc']}\n"
        f"  分层 / stratum: {cred['stratum']}\n  盐值 / salt: {cred['salt']}\n"
        f"  pool.tsv 第 {cred['pool_line']} 行的标签 / tag on line {cred['pool_line']}: "
        f"{cred['tag']}\n  核验 / check: {cred['check']} = 标签 / the tag"
        f"（{'一致 / matches' if cred['ok'] else '不一致 / DIFFERS'}）\n"
        f"  pool.tsv SHA-256: {cred['pool_sha256']}（已写入承诺 / in the commitment "
        f"{cred['commitment']}）"
    )


@batch_app.command("replay")
def batch_replay(
    input_dir: Path,
    out: Annotated[Path, typer.Option("--out", help="folder to write the bundle to")],
) -> None:
    """Replay a case folder (pool, roster, conflicts, params, entropy, events) in a scratch
    database through the product's services, and export the bundle it produces."""
    import tempfile

    from supervision.clock import SystemClock
    from supervision.migrate import upgrade
    from supervision.planning import bundle
    from supervision.planning.replay import replay

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{Path(scratch) / 'replay.db'}")
        upgrade(engine)
        try:
            with transaction(engine) as session:
                files = replay(
                    session, input_dir, storage=Path(scratch) / "files", clock=SystemClock()
                )
        except DomainError as e:
            _fail(e)
        engine.dispose()
        # Inside the scratch folder's life: the bundle's frozen files are stored there.
        bundle.write_bundle_dir(files, out, with_private=True)
    typer.echo(f"已回放并导出到 / replayed, bundle written to {out}")


@app.command("verify")
def verify(bundle_dir: Path) -> None:
    """Recompute a published bundle folder and name the first difference (exit 1 if any)."""
    from supervision.draw.verify import main as verify_main

    raise typer.Exit(verify_main([str(bundle_dir)]))


# ---- the portal's data ---------------------------------------------------------------------


@app.command("open-data")
def open_data(
    dataset: Annotated[str, typer.Argument(help="results / list-entries / batches")],
    out: Annotated[Path, typer.Option("--out", help="file to write ('-' for standard output)")],
    year: Annotated[int | None, typer.Option("--year", help="one year only")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
) -> None:
    """Write an open-data file, exactly as /open-data serves it (CSV with a BOM, or JSON)."""
    from supervision.enforcement.rulebook import rulebook
    from supervision.portal.opendata import DATASETS, FORMATS, csv_chunks, json_chunks
    from supervision.registry.reference import result_codebook

    if dataset not in DATASETS or fmt not in FORMATS:
        typer.echo(
            f"未知的数据集或格式 / unknown dataset or format: {dataset} {fmt} "
            f"(datasets: {', '.join(DATASETS)}; formats: {', '.join(FORMATS)})",
            err=True,
        )
        raise typer.Exit(2)
    settings = get_settings()
    chunks = csv_chunks if fmt == "csv" else json_chunks
    engine = _engine()
    with Session(engine) as session:
        rows = DATASETS[dataset].rows(
            session,
            year=year,
            book=result_codebook(settings.data_dir),
            rulebook=rulebook(settings.data_dir),
        )
        sink = sys.stdout.buffer if str(out) == "-" else open(out, "wb")  # noqa: SIM115
        try:
            for chunk in chunks(DATASETS[dataset], rows):
                sink.write(chunk)
        finally:
            if sink is not sys.stdout.buffer:
                sink.close()
    engine.dispose()
    if str(out) != "-":
        typer.echo(f"已写入 / written: {out}")


@app.command("search")
def search_entities(
    query: str,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
) -> None:
    """Find entities by credit code, its beginning or any fragment of the name."""
    from supervision.registry.search import search

    engine = _engine()
    with Session(engine) as session:
        result = search(session, query, page=page, per_page=20)
    engine.dispose()
    if result.how == "timeout":
        typer.echo("查询用时过长，已停止：请输入更完整的名称或统一社会信用代码 / search stopped")
        raise typer.Exit(1)
    more = "+" if result.capped else ""
    typer.echo(f"{result.total}{more} 条 / hits ({result.how}), 第 {result.page}/{result.pages} 页")
    for hit in result.hits:
        typer.echo(f"{hit.uscc}\t{hit.name}\t{hit.legal_rep}\t{hit.status}")


# ---- scheduled jobs ------------------------------------------------------------------------

jobs_app = typer.Typer(help="定时任务 / scheduled jobs", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


@jobs_app.command("list")
def jobs_list() -> None:
    """List the scheduled jobs and their times (China time)."""
    from supervision.jobs.catalog import all_jobs

    for job in all_jobs().values():
        typer.echo(f"{job.name:<24} {job.cron}  {job.description}")


@jobs_app.command("run")
def jobs_run(
    name: str,
    slot: Annotated[str | None, typer.Option(help="slot to run for (default: today)")] = None,
) -> None:
    """Run one job now (once per slot: a slot that already ran is skipped)."""
    from supervision.jobs.catalog import all_jobs
    from supervision.jobs.runner import run_job

    jobs = all_jobs()
    if name not in jobs:
        typer.secho(
            f"没有名为 {name} 的定时任务 / no such job; see `supervision jobs list`",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    row = run_job(_engine(), jobs[name], _clock(), get_settings(), slot)
    if row is None:
        typer.echo("该时段已运行过，跳过 / already ran for this slot")
        return
    typer.echo(f"{row.status}: {row.detail}")
    if row.status != "ok":
        raise typer.Exit(1)


@app.command()
def scheduler(
    poll: Annotated[
        float, typer.Option(help="备用进程检查主调度是否仍在的间隔（秒）/ standby poll seconds")
    ] = 2.0,
) -> None:
    """Run the job scheduler in the foreground. Start as many as you like: one leads (a
    PostgreSQL advisory lock on its own connection), the others stand by and take over within
    `poll` seconds of its death; each (job, slot) runs once."""
    import logging

    from supervision.jobs.catalog import all_jobs
    from supervision.jobs.runner import lead, runner_name
    from supervision.migrate import upgrade

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    _check_rulebook()
    engine = _engine()
    upgrade(engine)
    typer.echo(
        f"调度器 {runner_name()} 已启动，等待成为主调度 / scheduler running (Ctrl+C to stop)"
    )
    try:
        lead(engine, _clock(), get_settings(), list(all_jobs().values()), poll_seconds=poll)
    except KeyboardInterrupt:
        pass


calendar_app = typer.Typer(help="工作日历 / the working-day calendar", no_args_is_help=True)
app.add_typer(calendar_app, name="calendar")


@calendar_app.command("status")
def calendar_status(
    first: Annotated[int, typer.Option(help="first year shown")] = 2024,
    last: Annotated[int, typer.Option(help="last year shown")] = 2028,
) -> None:
    """Where each year's working days come from: the library, an announced file, or a
    provisional arrangement computed from the statutory holidays."""
    from supervision.calendar import default_calendar

    calendar = default_calendar(get_settings().data_dir)
    for year in range(first, last + 1):
        try:
            source = calendar.source_of(year)
        except DomainError as e:
            source = e.zh
        mark = "暂定 / provisional" if calendar.is_provisional(year) else "正式 / official"
        typer.echo(f"{year}  {mark:<20} {source}")


@calendar_app.command("set")
def calendar_set(year: int, file: Path) -> None:
    """Enter YEAR's announced holiday arrangement (a YAML file as data/calendar/README
    describes) and count again every deadline that was counted provisionally for that year."""
    from supervision.calendar.announce import announce_year
    from supervision.enforcement.rulebook import rulebook

    if not file.is_file():
        typer.secho(f"文件不存在 / no such file: {file}", fg="red", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    result = _domain(
        lambda session: announce_year(
            session,
            settings.data_dir,
            year,
            file.read_bytes(),
            book=rulebook(settings.data_dir),
            actor="cli",
            clock=_clock(),
        )
    )
    typer.echo(
        f"{year}年放假安排已录入（SHA-256 {result.sha256[:16]}…）；重新计算暂定期限 "
        f"{result.checked} 个，其中日期变动 {len(result.moved)} 个，仍为暂定 "
        f"{result.still_provisional} 个 / entered; {result.checked} provisional deadlines "
        f"recounted, {len(result.moved)} moved"
    )
    for moved in result.moved:
        typer.echo(f"  {moved['object']} {moved['field']}: {moved['from']} → {moved['to']}")


@app.command("backup")
def backup_cmd(path: Path) -> None:
    """Write a consistent backup of the database and the stored files to PATH (a new folder):
    SQLite through its online backup API, PostgreSQL through pg_dump; a manifest of digests."""
    from supervision.backup import backup

    settings = get_settings()
    try:
        report = backup(_engine(), settings.storage_dir, path, now=_clock().now())
    except DomainError as e:
        _fail(e)
    typer.echo(
        f"已备份到 {report.path}：数据库 {report.database}（迁移版本 {report.revision}），"
        f"存储文件 {report.files} 个，{report.bytes / 1024 / 1024:.1f} MB / backup written"
    )


@app.command("restore")
def restore_cmd(
    path: Path,
    yes: Annotated[bool, typer.Option("--yes", help="replace the current database")] = False,
) -> None:
    """Replace the database and the stored files with the backup at PATH (every digest is
    checked first). Stop the service before restoring."""
    from supervision.backup import check_backup, restore

    settings = get_settings()
    try:
        manifest = check_backup(path)
        if not yes:
            typer.secho(
                f"备份完好（{manifest['created_at']}，{len(manifest['files'])} 个文件）。恢复将"
                "覆盖当前数据库：确认请加 --yes / the backup is intact; add --yes to restore",
                fg="yellow",
            )
            raise typer.Exit(1)
        restore(_engine(), settings.storage_dir, path)
    except DomainError as e:
        _fail(e)
    typer.echo(f"已从 {path} 恢复 / restored; run `supervision audit verify` to check the log")


# Last, after every command is registered (`python -m supervision.cli batch …` too).
if __name__ == "__main__":
    app()
