"""Writers: chunks of validated rows upserted on SQLite (executemany) or PostgreSQL (COPY)."""

from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from typing import Any

import psycopg.errors
from sqlalchemy import Connection

from supervision.registry.importer.kinds import _Kind, _Plan
from supervision.registry.partitions import is_partitioned


def _province_from(kind: _Kind, plan: _Plan) -> str | None:
    """The file column the table's `province` follows (its first two digits), if any."""
    if "province" in kind.table.c and "region_code" in plan.columns:
        return "region_code"
    return None


# ---- writing ------------------------------------------------------------------------------


class _SqliteWriter:
    """executemany upserts on the session's own DBAPI connection, chunk by chunk."""

    def __init__(self, conn: Connection, kind: _Kind, plan: _Plan, now: datetime) -> None:
        self.cursor = conn.connection.driver_connection.cursor()
        table = kind.table.name
        own = [*kind.key_columns, *plan.columns]
        insert = [*own, *plan.absent_defaults, "created_at", "updated_at"]
        # Row values are bound as ?1..?n; the two timestamps share the last parameter.
        params = [f"?{i}" for i in range(1, len(insert))] + [f"?{len(insert) - 1}"]
        changed = [*kind.key_columns[1:], *plan.columns]
        follows = []
        if source := _province_from(kind, plan):
            insert.append("province")
            params.append(f"substr(?{own.index(source) + 1}, 1, 2)")
            follows.append("province")
        self.sql = (
            f"INSERT INTO {table} ({', '.join(insert)}) VALUES ({', '.join(params)}) "
            f"ON CONFLICT ({kind.key}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in [*changed, *follows, "updated_at"])
            + " WHERE "
            + " OR ".join(f"{table}.{c} IS NOT excluded.{c}" for c in changed)
        )
        # Row tail: defaults of absent columns, then the timestamp (as SQLAlchemy writes it).
        self.tail = (
            *plan.absent_defaults.values(),
            now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
        )
        self.child_sql = None
        if kind.child:
            child, (key_col, value_col) = kind.child
            self.child_sql = (
                f"INSERT INTO {child} ({key_col}, {value_col}) VALUES (?, ?) "
                f"ON CONFLICT ({key_col}, {value_col}) DO NOTHING"
            )
        self.table = table
        self.cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        self.max_id_before = self.cursor.fetchone()[0]
        self.changed = self.children = 0

    def write(self, rows: list[list[Any]], children: list[tuple[str, int]]) -> None:
        self.cursor.executemany(self.sql, rows)
        # Upserts whose WHERE found nothing to change do not count.
        self.changed += self.cursor.rowcount
        if children:
            self.cursor.executemany(self.child_sql, children)
            self.children += self.cursor.rowcount

    def finish(self) -> tuple[int, int, int]:
        """(rows inserted, rows inserted or changed, child rows added)."""
        # The transaction holds SQLite's write lock, so ids above the old maximum are ours.
        self.cursor.execute(
            f"SELECT count(*) FROM {self.table} WHERE id > ?", (self.max_id_before,)
        )
        return self.cursor.fetchone()[0], self.changed, self.children

    def close(self) -> None:
        self.cursor.close()


class _PostgresWriter:
    """COPY validated rows into a temporary staging table and upsert them set-based — the
    upsert in a worker thread, on the same connection, while the main thread validates on.

    The set-based upsert of a million rows takes the server about as long as validating them
    takes Python; one after the other they added up to 2.2× a raw COPY. Now, while an upsert
    runs, validated rows wait in memory (at most BUFFER_ROWS; then the main thread waits);
    when it has finished they are copied to the stage and the next upsert starts. The
    connection is used by one thread at a time, and the import stays one transaction.
    """

    STAGE = "registry_import_stage"
    CHILD_STAGE = "registry_import_child_stage"
    UPSERT_ROWS = 50_000  # rows staged per upsert
    BUFFER_ROWS = 200_000  # validated rows held while an upsert runs

    def __init__(self, conn: Connection, kind: _Kind, plan: _Plan, now: datetime) -> None:
        driver = conn.connection.driver_connection
        self.cursor = driver.cursor()
        self.upsert_cursor = driver.cursor()  # used by the worker thread only
        self.kind, self.now = kind, now
        self.table = table = kind.table.name
        self.own = [*kind.key_columns, *plan.columns]
        self.absent = plan.absent_defaults
        self.changed_columns = [*kind.key_columns[1:], *plan.columns]
        self.tail = ()
        # Staging columns take the target's types (enums included) without its constraints.
        self.cursor.execute(
            f"CREATE TEMPORARY TABLE {self.STAGE} ON COMMIT DROP AS "
            f"SELECT {', '.join(self.own)} FROM {table} WITH NO DATA"
        )
        if kind.child:
            child, cols = kind.child
            self.cursor.execute(
                f"CREATE TEMPORARY TABLE {self.CHILD_STAGE} ON COMMIT DROP AS "
                f"SELECT {', '.join(cols)} FROM {child} WITH NO DATA"
            )
        insert = [*self.own, *self.absent, "created_at", "updated_at"]
        values = [*self.own, *["%s"] * (len(self.absent) + 2)]
        changed = self.changed_columns
        conflict = kind.key
        # A partitioned table's unique keys hold its partition key: rows are matched on
        # (credit code, province); a row whose province changed is moved first (`_move`).
        self.source = _province_from(kind, plan)
        if self.source:
            insert.append("province")
            values.append(f"substr({self.source}, 1, 2)")
            if is_partitioned(conn):
                conflict = f"{kind.key}, province"
        self.moves = self.source is not None and is_partitioned(conn)
        # Counts what it did: xmax is 0 on a row version this statement inserted, set on one
        # it updated; unchanged rows (the WHERE below) are not returned. A partitioned table
        # returns no system column: there a row is new when its id is past the id sequence's
        # value before the statement (every proposed row draws an id; updated rows keep theirs).
        inserted_sql = "(xmax = 0)"
        if self.moves:
            inserted_sql = "(id > %s)"
        self.upsert_sql = (
            "WITH written AS ("
            f"INSERT INTO {table} ({', '.join(insert)}) "
            f"SELECT {', '.join(values)} FROM {self.STAGE} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in [*changed, "updated_at"])
            + f" WHERE ({', '.join(f'{table}.{c}' for c in changed)}) IS DISTINCT FROM "
            f"({', '.join(f'excluded.{c}' for c in changed)})"
            f" RETURNING {inserted_sql} AS inserted"
            ") SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
        )
        self.upsert_params = [*self.absent.values(), now, now]
        if self.moves:
            self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            self.sequence = self.cursor.fetchone()[0]
            self.upsert_params.append(0)  # the id bound, read before each upsert
        self.inserted = self.written = 0
        self.buffer: list[list[Any]] = []
        self.child_buffer: list[tuple[str, int]] = []
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-upsert")
        self.pending: Future[tuple[int, int]] | None = None

    def _upsert_stage(self) -> tuple[int, int]:
        """Upsert the staged rows, then empty the stage: (rows inserted, inserted or changed)."""
        cur = self.upsert_cursor
        moved = 0
        if not self.moves:
            cur.execute(self.upsert_sql, self.upsert_params)
            inserted, written = cur.fetchone()
        else:
            cur.execute("SAVEPOINT import_upsert")
            try:
                self._ids_before(cur)
                cur.execute(self.upsert_sql, self.upsert_params)
            except psycopg.errors.UniqueViolation as exc:
                if exc.diag.constraint_name != "uq_entity_key_uscc":
                    raise
                # Some staged entity is registered under another province: move it to its
                # new partition (same id, same credit code), then upsert the chunk again.
                cur.execute("ROLLBACK TO SAVEPOINT import_upsert")
                moved = self._move(cur)
                self._ids_before(cur)
                cur.execute(self.upsert_sql, self.upsert_params)
            inserted, written = cur.fetchone()
            written += moved
            cur.execute("RELEASE SAVEPOINT import_upsert")
        cur.execute(f"TRUNCATE {self.STAGE}")
        return inserted, written

    def _ids_before(self, cur: Any) -> None:
        """The id sequence's value now: rows of the next upsert with a higher id are new."""
        cur.execute(
            "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END "
            f"FROM {self.sequence}"
        )
        self.upsert_params[-1] = cur.fetchone()[0]

    def _move(self, cur: Any) -> int:
        """Write the staged rows of entities whose region code left their province (PostgreSQL
        moves each to its new partition; id and credit code stay). Rare, so tried only after
        the chunk's upsert met a credit code registered under another province."""
        key, source = self.kind.key, self.source
        sets = [f"{c} = s.{c}" for c in self.changed_columns]
        cur.execute(
            f"UPDATE {self.table} e SET {', '.join(sets)}, updated_at = %s, "
            f"province = substr(s.{source}, 1, 2) "
            f"FROM {self.STAGE} s, LATERAL (SELECT k.id FROM entity_key k "
            f"WHERE k.uscc = s.{key} LIMIT 1) k "
            f"WHERE e.id = k.id AND e.province <> substr(s.{source}, 1, 2)",
            [self.now],
        )
        return cur.rowcount

    def _wait(self) -> None:
        """Let the chunk's upsert finish (raising its error, if any) before the next step."""
        if self.pending is not None:
            pending, self.pending = self.pending, None
            inserted, written = pending.result()
            self.inserted += inserted
            self.written += written

    def write(self, rows: list[list[Any]], children: list[tuple[str, int]]) -> None:
        self.buffer += rows
        self.child_buffer += children
        if self.pending is not None and not self.pending.done():
            if len(self.buffer) < self.BUFFER_ROWS:
                return  # validate on while the server upserts
        self._wait()  # the stage is free again, and the connection is ours
        if len(self.buffer) >= self.UPSERT_ROWS:
            self._stage()
            self.pending = self.worker.submit(self._upsert_stage)

    def _stage(self) -> None:
        """COPY the buffered rows into the stage (the main thread, connection free)."""
        with self.cursor.copy(f"COPY {self.STAGE} ({', '.join(self.own)}) FROM STDIN") as copy:
            for row in self.buffer:
                copy.write_row(row)
        self.buffer = []
        if self.child_buffer:
            child, cols = self.kind.child
            with self.cursor.copy(
                f"COPY {self.CHILD_STAGE} ({', '.join(cols)}) FROM STDIN"
            ) as copy:
                for pair in self.child_buffer:
                    copy.write_row(pair)
            self.child_buffer = []

    def finish(self) -> tuple[int, int, int]:
        """(rows inserted, rows inserted or changed, child rows added)."""
        self._wait()
        if self.buffer or self.child_buffer:
            self._stage()
            self.pending = self.worker.submit(self._upsert_stage)
            self._wait()
        cur = self.cursor
        children = 0
        if self.kind.child:
            child, (key_col, value_col) = self.kind.child
            cur.execute(
                f"INSERT INTO {child} ({key_col}, {value_col}) "
                f"SELECT {key_col}, {value_col} FROM {self.CHILD_STAGE} "
                f"ON CONFLICT ({key_col}, {value_col}) DO NOTHING"
            )
            children = cur.rowcount
        # Dropped now, not at commit: the same transaction may import another file.
        cur.execute(f"DROP TABLE IF EXISTS {self.STAGE}, {self.CHILD_STAGE}")
        return self.inserted, self.written, children

    def close(self) -> None:
        try:
            # After a failure elsewhere the caller rolls the transaction back; the chunk's
            # upsert must still end before that, and its own error would only repeat it.
            if self.pending is not None:
                wait([self.pending])
        finally:
            self.worker.shutdown(wait=True)
            self.upsert_cursor.close()
            self.cursor.close()


def _writer(
    conn: Connection, kind: _Kind, plan: _Plan, now: datetime
) -> _SqliteWriter | _PostgresWriter:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return _SqliteWriter(conn, kind, plan, now)
    if dialect == "postgresql":
        return _PostgresWriter(conn, kind, plan, now)
    raise NotImplementedError(f"bulk import is not implemented for {dialect}")
