"""The command line with the documents: every `supervision` command (`supervision.cli`) plus
`supervision report KIND …`, which prints a document to a PDF file.

It lives here, above the domain core (the core never imports the documents), and is the
installed `supervision` command; `python -m reports.cli` runs the same.

    supervision report plan PLAN --out plan.pdf
    supervision report announcement BATCH --out a.pdf
    supervision report draw BATCH --out draw.pdf
    supervision report notices BATCH --out notices.pdf   [--zip] [--uscc CODE]
    supervision report record-form BATCH [USCC] --out form.pdf
    supervision report results BATCH --out results.pdf
    supervision report decision ENTRY [ENTRY …] --out decisions.pdf
    supervision report annual YEAR --out 2026.pdf
"""

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from reports import documents
from supervision import cli as core
from supervision.cli import app
from supervision.clock import SystemClock
from supervision.errors import DomainError
from supervision.settings import get_settings

report_app = typer.Typer(
    help="打印文书（PDF）/ print the bureau's documents as PDF", no_args_is_help=True
)
app.add_typer(report_app, name="report")

Out = Annotated[Path, typer.Option("--out", help="the PDF (or zip) file to write")]


def _ctx() -> documents.Context:
    settings = get_settings()
    return documents.Context(
        data_dir=settings.data_dir,
        storage=settings.storage_dir,
        clock=SystemClock(),
        actor="cli",
        public_url=settings.public_url,
    )


def _read(fn):
    """Build a document in a read transaction (its number, if new, is issued in a short
    transaction of its own); a refusal prints its reason and exits 1."""
    engine = core._engine()
    try:
        with Session(engine.execution_options(sqlite_read=True)) as session:
            return fn(session)
    except DomainError as e:
        core._fail(e)


def _write(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(out)  # never a half-written file under the asked name
    typer.echo(f"已写入 / written: {out} ({len(data):,} bytes)")


@report_app.command("plan")
def report_plan(plan: str, out: Out) -> None:
    """年度抽查工作计划 of PLAN."""
    _write(out, _read(lambda s: documents.plan_pdf(s, plan, _ctx())))


@report_app.command("announcement")
def report_announcement(batch: str, out: Out) -> None:
    """抽查批次公告 of BATCH (frozen: it prints the commitment)."""
    _write(out, _read(lambda s: documents.announcement_pdf(s, batch, _ctx())))


@report_app.command("draw")
def report_draw(batch: str, out: Out) -> None:
    """随机抽取记录 of BATCH (drawn)."""
    _write(out, _read(lambda s: documents.draw_record_pdf(s, batch, _ctx())))


@report_app.command("ceremony")
def report_ceremony(batch: str, out: Out) -> None:
    """随机抽取仪式记录 of BATCH (drawn), with the witnesses' signature lines."""
    _write(out, _read(lambda s: documents.ceremony_pdf(s, batch, _ctx())))


@report_app.command("notices")
def report_notices(
    batch: str,
    out: Out,
    as_zip: Annotated[bool, typer.Option("--zip", help="one PDF per business in a zip")] = False,
    uscc: Annotated[str | None, typer.Option("--uscc", help="one business only")] = None,
) -> None:
    """随机抽查通知书 of every drawn business of BATCH (one PDF, or a zip), with progress."""
    with typer.progressbar(length=1, label="通知书 / notices", file=None) as bar:
        seen = [0]

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - seen[0])
            seen[0] = done

        def run(s):
            if as_zip:
                return documents.notices_zip(s, batch, _ctx(), progress=progress)
            return documents.notices_pdf(s, batch, _ctx(), uscc=uscc, progress=progress)

        data = _read(run)
    _write(out, data)


@report_app.command("record-form")
def report_record_form(
    batch: str,
    out: Out,
    uscc: Annotated[str | None, typer.Argument(help="fill from this business's result")] = None,
) -> None:
    """检查记录表 of BATCH: blank, or filled from USCC's recorded result."""
    _write(out, _read(lambda s: documents.record_form_pdf(s, batch, _ctx(), uscc)))


@report_app.command("results")
def report_results(batch: str, out: Out) -> None:
    """抽查结果公示 of BATCH (its published results)."""
    _write(out, _read(lambda s: documents.results_pdf(s, batch, _ctx())))


@report_app.command("decision")
def report_decision(
    entries: Annotated[list[int], typer.Argument(help="list entry ids (a bulk decision: many)")],
    out: Out,
) -> None:
    """列入/移出名录决定书 of ENTRY (and more: one PDF)."""
    _write(out, _read(lambda s: documents.decisions_pdf(s, entries, _ctx())))


@report_app.command("annual")
def report_annual(year: int, out: Out) -> None:
    """年度报告 of YEAR."""
    _write(out, _read(lambda s: documents.annual_pdf(s, year, _ctx())))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
