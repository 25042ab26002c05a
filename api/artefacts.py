"""A drawn batch's heavy public files, built in the background as soon as the draw (or an
event that changes it) has committed — so the first citizen to ask after the ceremony is not
the one who waits for a 30,000-row PDF. Each file is built once per content key
(`supervision.storage.artefacts`); a request arriving mid-build waits for it, never builds
it twice."""

import logging
from collections.abc import Callable

from fastapi import Request
from sqlmodel import Session

from api.deps import after_commit
from reports.documents import draw_result_pdf_file
from supervision.planning import queries

log = logging.getLogger("supervision")


def build_public_files(engine, storage, code: str) -> None:
    """Build in a read transaction: on SQLite the build (minutes for a 30,000-row PDF) must not
    hold the write lock; the draw record's number is issued in a short transaction of its own."""
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_read=True)
    try:
        with Session(engine) as session:
            queries.bundle_json_file(session, code, storage=storage)
            queries.bundle_zip_file(session, code, storage=storage)
            draw_result_pdf_file(session, code, storage=storage)
    except Exception:  # a failed build leaves nothing: the first request builds it instead
        log.exception("building the public files of %s failed", code)


def warm_after_commit(request: Request, code: str) -> None:
    """Queue the build of ``code``'s public files for when this request has committed."""
    state = request.app.state
    work: Callable[[], None] = lambda: build_public_files(  # noqa: E731
        state.engine, state.settings.storage_dir, code
    )
    after_commit(request, work)
