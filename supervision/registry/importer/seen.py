"""The keys a file has given so far, and the line of each: held in memory up to a bound, then
kept in a private temporary SQLite database on disk.

An import needs every key it has read: a key seen twice is an error naming the first line,
a snapshot reports the registered entities the file did not list, and a stored record made
inconsistent by an update is reported at its line. A dict of ten million credit codes takes
well over a gigabyte; this keeps at most HELD keys in memory (the most recent ones) and
the rest in a B-tree whose page cache is bounded, so an import's memory does not grow with
the file.
"""

import sqlite3

HELD = 250_000  # keys held in memory before they are written to the spill
SPILL_CACHE_KB = 16_384  # the spill's page cache


class SeenKeys:
    def __init__(self, held: int | None = None) -> None:
        self.held = held or HELD
        self.recent: dict[str, int] = {}
        self.spill: sqlite3.Connection | None = None
        self.spilled = 0

    def first_line(self, key: str) -> int | None:
        """The line the key was first seen on, or None."""
        line = self.recent.get(key)
        if line is None and self.spill is not None:
            row = self.spill.execute("SELECT line FROM seen WHERE key = ?", (key,)).fetchone()
            if row is not None:
                line = row[0]
        return line

    def add(self, key: str, line: int) -> None:
        """Record a key not seen before (`first_line` said None)."""
        self.recent[key] = line
        if len(self.recent) >= self.held:
            self._write_out()

    def _write_out(self) -> None:
        if self.spill is None:
            # "" = a private temporary database on disk, deleted when the connection closes.
            self.spill = sqlite3.connect("", isolation_level=None)
            self.spill.execute(f"PRAGMA cache_size = -{SPILL_CACHE_KB}")
            self.spill.execute("PRAGMA journal_mode = OFF")
            self.spill.execute("PRAGMA synchronous = OFF")
            self.spill.execute(
                "CREATE TABLE seen (key TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID"
            )
        self.spill.execute("BEGIN")
        self.spill.executemany("INSERT INTO seen VALUES (?, ?)", sorted(self.recent.items()))
        self.spill.execute("COMMIT")
        self.spilled += len(self.recent)
        self.recent.clear()

    def __contains__(self, key: str) -> bool:
        return self.first_line(key) is not None

    def __getitem__(self, key: str) -> int:
        line = self.first_line(key)
        if line is None:
            raise KeyError(key)
        return line

    def __len__(self) -> int:
        return self.spilled + len(self.recent)

    def close(self) -> None:
        if self.spill is not None:
            self.spill.close()
            self.spill = None
        self.recent.clear()
