"""Find a business by its credit code or by any fragment of its name (the portal's search).

Three ways in, chosen by the query:

* an 18-character credit code → that entity (the unique index), and a code's first six or
  more characters → the codes that start so (same index, in order);
* a name fragment of three characters or more → the trigram index: SQLite's FTS5 with the
  ``trigram`` tokenizer, PostgreSQL's ``pg_trgm`` GIN index (migration 0008). Ranked — the
  exact name first, then by the engine's relevance (bm25 / trigram similarity) — as long as
  the fragment is selective enough to rank (at most ``RANKED`` matches); a fragment shared
  by more names than that (“有限公司”) lists them in name order and asks for more characters;
* a fragment of one or two characters → no trigram can serve it: a second index of each
  name's single characters does (SQLite: FTS5 over the spaced characters, a phrase query,
  adjacency included; PostgreSQL: GIN over the characters for one, GIN over the adjacent
  pairs for two — migration 0021), ``instr``/``strpos`` confirming the match.

When a fragment of four characters or more finds nothing, the search retries tolerant of a
typo: SQLite by any of the fragment's trigrams ranked by bm25, PostgreSQL by word
similarity (``<%``); those hits are marked ``similar``. Totals are exact up to ``COUNT_CAP``
and reported as "more than" beyond it — counting every "公司" would cost a scan per request.

A search is public and unauthenticated: a fragment's search that outlasts ``TIME_LIMIT_MS``
(all its queries together; a credit code's is one probe of the unique index) is stopped in the
database — PostgreSQL's ``statement_timeout`` inside a savepoint, SQLite's progress handler —
and answered ``how = "timeout"`` with no hits: no query string can hold a worker or the
database for long.
"""

import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

# Objects of the index that are not described by the models (the migration comparison skips them).
INDEX_OBJECTS = (
    "entity_fts",
    "ix_entity_name_trgm",
    "ix_entity_name_chars",
    "ix_entity_name_bigrams",
)
MAX_QUERY = 60
TIME_LIMIT_MS = 2000
SHORT = 3
COUNT_CAP = 1000
RANKED = 1000
TYPO_MIN = 4
_CODE = re.compile(r"[0-9A-Z]{6,18}")
_COLUMNS = "e.id, e.uscc, e.name, e.entity_type, e.status, e.legal_rep, e.established_on"


@dataclass(frozen=True)
class Hit:
    uscc: str
    name: str
    entity_type: str
    status: str
    legal_rep: str
    established_on: date | None


@dataclass
class SearchPage:
    query: str
    how: str  # "code" | "ranked" | "ordered" | "short" | "similar" | "none" | "timeout"
    total: int
    capped: bool  # the total is a lower bound ("more than COUNT_CAP")
    page: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def normalize(q: str) -> str:
    """What the user typed, as the index holds names: NFKC (full-width letters and digits
    become ASCII), no control characters, outer spaces trimmed, at most MAX_QUERY characters."""
    q = unicodedata.normalize("NFKC", q or "")
    q = "".join(ch for ch in q if unicodedata.category(ch)[0] != "C")
    return q.strip()[:MAX_QUERY]


def as_code(q: str) -> str | None:
    """The query as a credit code or a code's beginning (six to eighteen of 0–9 and A–Z, a
    digit among them; case and spaces aside), else None."""
    code = normalize(q).upper().replace(" ", "")
    return code if _CODE.fullmatch(code) and any(ch.isdigit() for ch in code) else None


class _TooLong(Exception):
    """The search outlasted its time limit and was stopped in the database."""


@contextmanager
def _time_limit(session: Session, ms: int) -> Iterator[None]:
    """Stop the database's work on the enclosed queries after `ms` milliseconds (_TooLong).

    PostgreSQL: ``statement_timeout`` set inside a savepoint that is always rolled back — the
    search only reads — so the setting and a cancelled query's aborted state end with it.
    SQLite: a progress handler that interrupts the running statement past the deadline (an
    interrupted read leaves the transaction as it was)."""
    if session.get_bind().dialect.name == "postgresql":
        savepoint = session.begin_nested()
        conn = session.connection()  # emits the savepoint before the setting
        try:
            conn.execute(text("SELECT set_config('statement_timeout', :ms, true)"), {"ms": str(ms)})
            yield
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
                raise _TooLong from exc
            raise
        finally:
            savepoint.rollback()
        return
    raw = session.connection().connection.driver_connection
    deadline = time.monotonic() + ms / 1000
    raw.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc.orig):
            raise _TooLong from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)


def search_code(
    session: Session, q: str, *, page: int = 1, per_page: int = 20
) -> SearchPage | None:
    """The search's first way in alone: the entities whose credit code is, or starts with, the
    query — one probe of the unique index, a page at most, quick whatever the query. None
    when the query is not a code or no code matches (a name fragment's search may still find
    it: `search`)."""
    code = as_code(q)
    if not code:
        return None
    out = SearchPage(normalize(q), "none", 0, False, max(1, page), per_page)
    _by_code(session.connection(), code, out)
    return out if out.total else None


def search(
    session: Session,
    q: str,
    *,
    page: int = 1,
    per_page: int = 20,
    time_limit_ms: int | None = None,
) -> SearchPage:
    query = normalize(q)
    page = max(1, page)
    out = SearchPage(query, "none", 0, False, page, per_page)
    if not query:
        return out
    found = search_code(session, query, page=page, per_page=per_page)
    if found is not None:
        return found
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    if pg:
        _name_sample(conn)  # renewed outside the limit: it serves every search
    try:
        with _time_limit(session, time_limit_ms or TIME_LIMIT_MS):
            _fragment(session.connection(), query, out, pg)
    except _TooLong:
        return SearchPage(query, "timeout", 0, False, page, per_page)
    return out


def _fragment(conn: Any, query: str, out: SearchPage, pg: bool) -> None:
    if len(query) < SHORT:
        _short(conn, query, out, pg)
    else:
        _trigram(conn, query, out, pg)
        if not out.total and len(query) >= TYPO_MIN:
            _similar(conn, query, out, pg)


def _hits(rows: Any) -> list[Hit]:
    out = []
    for r in rows:
        established = r.established_on
        if isinstance(established, str):  # SQLite through a raw text query
            established = date.fromisoformat(established)
        out.append(Hit(r.uscc, r.name, r.entity_type, r.status, r.legal_rep, established))
    return out


def _capped_count(conn: Any, inner: str, params: dict[str, Any]) -> tuple[int, bool]:
    n = conn.execute(
        text(f"SELECT count(*) FROM ({inner} LIMIT {COUNT_CAP + 1}) AS c"), params
    ).scalar_one()
    return min(n, COUNT_CAP), n > COUNT_CAP


def _page(out: SearchPage) -> dict[str, int]:
    return {"limit": out.per_page, "offset": (out.page - 1) * out.per_page}


def _by_code(conn: Any, code: str, out: SearchPage) -> None:
    if len(code) == 18:
        rows = conn.execute(
            text(f"SELECT {_COLUMNS} FROM entity e WHERE e.uscc = :c"), {"c": code}
        ).all()
        out.how, out.total, out.hits = "code", len(rows), _hits(rows)
        return
    # A code's beginning: the unique index in order, from the prefix to its successor.
    params = {"lo": code, "hi": code + "\x7f"}
    where = "e.uscc >= :lo AND e.uscc < :hi"
    out.total, out.capped = _capped_count(conn, f"SELECT 1 FROM entity e WHERE {where}", params)
    if out.total:
        rows = conn.execute(
            text(
                f"SELECT {_COLUMNS} FROM entity e WHERE {where} "
                "ORDER BY e.uscc LIMIT :limit OFFSET :offset"
            ),
            {**params, **_page(out)},
        ).all()
        out.how, out.hits = "code", _hits(rows)


# ---- a fragment too common to ask the index (PostgreSQL) ----------------------------------
#
# A GIN index builds its whole bitmap before the first row comes out: a fragment that half a
# province's names hold ("有限", "昌吉市") costs seconds at ten million, though one page of it
# is at the head of any ordered scan. A sample of names, taken now and then, tells such a
# fragment apart in a fraction of a millisecond: then the page is read in registry order and
# the total is "more than COUNT_CAP", as when the index says so.

SAMPLE_NAMES = 10_000  # names in the sample
SAMPLE_SECONDS = 600  # how long a sample serves
SAMPLE_FROM = 200_000  # registries smaller than this are always asked through the index
COMMON_HITS = 10  # sample names holding the fragment, at least
COMMON_EXPECTED = 10 * COUNT_CAP  # names expected to hold it in the registry, at least

_samples: dict[str, tuple[float, float, list[str]]] = {}  # database → (taken, rows, names)


def _name_sample(conn: Any) -> tuple[float, list[str]]:
    """(registry size, a sample of its names) — cached per database for SAMPLE_SECONDS."""
    key = conn.engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    cached = _samples.get(key)
    if cached is not None and now - cached[0] < SAMPLE_SECONDS:
        return cached[1], cached[2]
    rows = float(
        conn.execute(
            text(
                "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_class c "
                "WHERE c.oid = 'entity'::regclass OR c.oid IN "
                "(SELECT inhrelid FROM pg_inherits WHERE inhparent = 'entity'::regclass)"
            )
        ).scalar_one()
    )
    names: list[str] = []
    if rows >= SAMPLE_FROM:
        percent = min(100.0, 150.0 * SAMPLE_NAMES / rows)
        names = list(
            conn.execute(
                text("SELECT name FROM entity TABLESAMPLE SYSTEM (:p) LIMIT :n"),
                {"p": percent, "n": SAMPLE_NAMES},
            ).scalars()
        )
    _samples[key] = (now, rows, names)
    return rows, names


def _common(conn: Any, fragment: str, fold: bool) -> bool:
    """Whether so many names hold the fragment (case aside, if `fold`) that only a page of
    them is worth reading: COMMON_HITS of the sample, COMMON_EXPECTED in the registry."""
    rows, names = _name_sample(conn)
    if not names:
        return False
    if fold:
        fragment = fragment.lower()
        hits = sum(1 for name in names if fragment in name.lower())
    else:
        hits = sum(1 for name in names if fragment in name)
    return hits >= COMMON_HITS and hits * rows / len(names) >= COMMON_EXPECTED


def _common_page(conn: Any, query: str, out: SearchPage, fold: bool) -> None:
    """The page of a common fragment: no index condition the planner could prefer, so the
    names are read in registry order (the primary key) until the page is full."""
    out.total, out.capped = COUNT_CAP, True
    match = "strpos(lower(e.name), lower(:q)) > 0" if fold else "strpos(e.name, :q) > 0"
    _ordered(conn, "entity e", match, {"q": query}, out, "e.id")


def _short(conn: Any, query: str, out: SearchPage, pg: bool) -> None:
    """One or two characters. SQLite: the character index (migration 0009) finds the names
    holding them in that order, ``instr`` keeps those where they are adjacent. PostgreSQL: one
    character through the character index, two through the index of adjacent pairs (0021)."""
    chars = [ch for ch in query if ch.isalnum()]
    if not chars:  # punctuation alone names nothing
        return
    if pg and _common(conn, query, fold=False):
        _common_page(conn, query, out, fold=False)
        out.how = "short"
        return
    if pg:
        source = "entity e"
        indexed = "name_bigrams(e.name)" if len(query) == 2 else "string_to_array(e.name, NULL)"
        match = f"{indexed} @> CAST(:keys AS text[]) AND strpos(e.name, :q) > 0"
        params: dict[str, Any] = {"q": query, "keys": [query] if len(query) == 2 else chars}
        key = "e.id"
    else:
        source = "entity_fts_chars c JOIN entity e ON e.id = c.rowid"
        match = "entity_fts_chars MATCH :m AND instr(e.name, :q) > 0"
        params = {"q": query, "m": '"' + " ".join(ch.lower() for ch in chars) + '"'}
        key = "c.rowid"
    out.total, out.capped = _capped_count(conn, f"SELECT 1 FROM {source} WHERE {match}", params)
    if not out.total:
        return
    if out.capped:
        _ordered(conn, source, match, params, out, key)
        out.how = "short"
        return
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM {source} WHERE {match} "
            "ORDER BY e.name <> :q, length(e.name), e.id LIMIT :limit OFFSET :offset"
        ),
        {**params, **_page(out)},
    ).all()
    out.how, out.hits = "short", _hits(rows)


def _fts_phrase(query: str) -> str:
    return '"' + query.replace('"', '""') + '"'


def _like(query: str) -> str:
    return "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _trigram(conn: Any, query: str, out: SearchPage, pg: bool) -> None:
    if pg and _common(conn, query, fold=True):  # as ILIKE below
        _common_page(conn, query, out, fold=True)
        return
    if pg:
        source = "entity e"
        match = "e.name ILIKE :like ESCAPE '\\'"
        params: dict[str, Any] = {"q": query, "like": _like(query)}
        relevance = "similarity(e.name, :q) DESC"
    else:
        source = "entity_fts f JOIN entity e ON e.id = f.rowid"
        match = "entity_fts MATCH :m"
        params = {"q": query, "m": _fts_phrase(query)}
        relevance = "bm25(entity_fts)"
    out.total, out.capped = _capped_count(conn, f"SELECT 1 FROM {source} WHERE {match}", params)
    if not out.total:
        return
    if out.capped:
        _ordered(conn, source, match, params, out, "e.id" if pg else "f.rowid")
        return
    out.how = "ranked"
    order = f"e.name <> :q, {relevance}, length(e.name), e.id"
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM {source} WHERE {match} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset"
        ),
        {**params, **_page(out)},
    ).all()
    out.hits = _hits(rows)


def _ordered(
    conn: Any, source: str, match: str, params: dict[str, Any], out: SearchPage, key: str
) -> None:
    """A fragment too common to rank: entities bearing exactly that name first (the name
    index), then the others in registry order (the index's own order: the scan stops as soon
    as the page is full, however many names match)."""
    out.how = "ordered"
    exact = conn.execute(
        text(f"SELECT {_COLUMNS} FROM entity e WHERE e.name = :q ORDER BY e.id"), params
    ).all()
    start = (out.page - 1) * out.per_page
    end = start + out.per_page
    hits = list(exact[start:end])
    if len(hits) < out.per_page:
        rest = conn.execute(
            text(
                f"SELECT {_COLUMNS} FROM {source} WHERE {match} AND e.name <> :q "
                f"ORDER BY {key} LIMIT :limit OFFSET :offset"
            ),
            {**params, "limit": out.per_page - len(hits), "offset": max(0, start - len(exact))},
        ).all()
        hits += rest
    out.hits = _hits(hits)


RARE_DOCS = 20_000
WORD_SIMILARITY = 0.2
MAX_GRAMS = 8


def _rare_grams(conn: Any, query: str) -> list[str]:
    """The fragment's trigrams that some name holds, rarest first, while together they match
    at most RARE_DOCS names — a gram every name shares ("公司") cannot tell names apart."""
    grams = sorted({query[i : i + 3].lower() for i in range(len(query) - 2)})
    counts = dict(
        conn.execute(
            text("SELECT term, doc FROM entity_fts_vocab WHERE term IN :grams").bindparams(
                bindparam("grams", expanding=True)
            ),
            {"grams": grams},
        ).all()
    )
    chosen, docs = [], 0
    for gram in sorted(counts, key=lambda g: (counts[g], g)):
        if docs + counts[gram] > RARE_DOCS or len(chosen) == MAX_GRAMS:
            break
        chosen.append(gram)
        docs += counts[gram]
    return chosen


def _similar(conn: Any, query: str, out: SearchPage, pg: bool) -> None:
    """Names sharing most of the fragment's trigrams: one mistyped character still finds."""
    if pg:
        # Chinese names are one "word" to pg_trgm: one wrong character costs three of the
        # fragment's trigrams, so the default threshold (0.6) would forgive nothing.
        conn.execute(
            text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
            {"t": str(WORD_SIMILARITY)},
        )
        source, match = "entity e", ":q <% e.name"
        params: dict[str, Any] = {"q": query}
        order = "word_similarity(:q, e.name) DESC, e.id"
    else:
        grams = _rare_grams(conn, query)
        if not grams:
            return
        source = "entity_fts f JOIN entity e ON e.id = f.rowid"
        match = "entity_fts MATCH :m"
        params = {"m": " OR ".join(_fts_phrase(g) for g in grams)}
        order = "bm25(entity_fts), e.id"
    # Only the best page or two are worth showing for a guess.
    total = conn.execute(
        text(f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {match} LIMIT :cap) AS c"),
        {**params, "cap": out.per_page * 2},
    ).scalar_one()
    if not total:
        return
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM {source} WHERE {match} "
            f"ORDER BY {order} LIMIT :limit OFFSET :offset"
        ),
        {**params, **_page(out)},
    ).all()
    out.how, out.total, out.capped, out.hits = "similar", total, False, _hits(rows)
