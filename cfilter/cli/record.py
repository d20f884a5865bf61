"""The resume record: what made each output, in ``OUTDIR/.cfilter/``.

One SQLite database (the standard library's :mod:`sqlite3`) with a row per
output: the input's fingerprint (size, modification time and a BLAKE2 hash
of its bytes), the recipe (the filter chain and every option that changes
the pixels, with the cfilter version), and the output's own size and
modification time when cfilter finished it.

An existing output is skipped only when its row says it was finished from
the same input and recipe and the file is still the one cfilter wrote.  A
row is marked *pending* (and committed) before its output is written, and
*done* after the rename, so a ``kill -9`` at any moment leaves either a
pending row (the output is redone on the next run) or a done one; SQLite's
journal keeps the database itself whole.

The database carries its format in ``PRAGMA user_version``
(:data:`FORMAT`).  A record of the first format (written before the format
was numbered: ``user_version`` 0 with the same table) is upgraded in place;
its rows keep the outputs known as cfilter's, and as their recipes were
written in the old form those outputs are redone once.  A record of a
newer format, or one whose table is not this one, is refused with
:class:`RecordError`; it is never trusted as if it were understood.

Only the driver process (the one that parses the command line) opens the
record; workers never touch it.
"""
import hashlib
import json
import os
import sqlite3
from pathlib import Path

__all__ = ["Record", "RecordError", "fingerprint", "content_hash", "SKIP",
           "NEW", "STALE", "FOREIGN", "REDO", "FORMAT"]

NEW, SKIP, STALE, FOREIGN, REDO = "new", "skip", "stale", "foreign", "redo"

#: The record's format (``PRAGMA user_version``).  1: the first table,
#: unnumbered (``user_version`` 0), whose recipes wrote the boundary mode
#: as ``str()`` of an enum (which Python 3.11 changed); 2: the same table,
#: the mode by its name.
FORMAT = 2
#: The columns of the table, the same in formats 1 and 2.
_COLUMNS = ("dst", "src", "src_size", "src_mtime_ns", "src_hash", "recipe",
            "state", "out_size", "out_mtime_ns")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outputs (
    dst TEXT PRIMARY KEY,        -- path relative to the output folder
    src TEXT NOT NULL,           -- the input, absolute
    src_size INTEGER NOT NULL,
    src_mtime_ns INTEGER NOT NULL,
    src_hash TEXT,               -- blake2b of the input's bytes
    recipe TEXT NOT NULL,        -- chain, options and cfilter version (JSON)
    state TEXT NOT NULL,         -- 'pending' or 'done'
    out_size INTEGER,
    out_mtime_ns INTEGER
)
"""


class RecordError(Exception):
    """A resume record this cfilter cannot use (another format); the
    message says why and what to do."""


def content_hash(data):
    """The hex BLAKE2b digest (16 bytes) of ``data`` (bytes-like)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def fingerprint(path):
    """``(size, mtime_ns)`` of the file at ``path`` (following symlinks)."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _hash_file(path):
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Record:
    """The resume record of one output folder.

    Parameters
    ----------
    outdir : Path
        The output folder; the database is ``outdir/.cfilter/record.sqlite3``.
    recipe : dict
        Everything that changes the pixels (JSON-serialisable).
    create : bool
        Create the folder and database if missing (False for a dry run: an
        absent record is then empty).
    """

    def __init__(self, outdir, recipe, *, create=True):
        self.outdir = Path(outdir)
        self.recipe = json.dumps(recipe, sort_keys=True)
        folder = self.outdir / ".cfilter"
        path = folder / "record.sqlite3"
        self.db = None
        if not create and not path.exists():
            return
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        uri = path.resolve().as_uri() + ("" if create else "?mode=ro")
        self.db = sqlite3.connect(uri, uri=True, timeout=30,
                                  isolation_level=None)
        try:
            self._check_format(path, create)
        except BaseException:
            self.close()
            raise
        if create:
            # write-ahead log: a commit is whole or absent after a kill at
            # any moment (and the database consistent after a power cut),
            # without an fsync per commit
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")

    def _check_format(self, path, create):
        """Create, upgrade or refuse the database by its format; a dry run
        (``create`` False) reads a record of format 1 as it is, since its
        rows differ from format 2 only in the recipes' text."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        columns = tuple(row[1] for row in self.db.execute(
            "PRAGMA table_info(outputs)"))
        tables = [row[0] for row in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")]
        if version > FORMAT:
            raise RecordError(
                f"the resume record {path} is of format {version}, written "
                f"by a newer cfilter (this one reads formats up to "
                f"{FORMAT}); use that cfilter, or another -o")
        if version == 0 and not tables:
            if create:                   # new: this format
                with self.db:
                    self.db.execute("BEGIN IMMEDIATE")
                    self.db.execute(_SCHEMA)
                    self.db.execute(f"PRAGMA user_version = {FORMAT}")
            return
        if set(columns) != set(_COLUMNS) or version not in (0, FORMAT):
            found = ", ".join(columns) if columns else "no outputs table"
            raise RecordError(
                f"the resume record {path} is not one this cfilter knows "
                f"(format {version}; {found}); move the folder "
                f"{path.parent} away to start a new record (the outputs "
                f"already there are then left alone unless --overwrite)")
        if version == 0 and create:      # format 1: upgrade in place
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute(f"PRAGMA user_version = {FORMAT}")

    def close(self):
        if self.db is not None:
            self.db.close()
            self.db = None

    def _row(self, rel):
        if self.db is None:
            return None
        return self.db.execute(
            "SELECT src_size, src_mtime_ns, src_hash, recipe, state, "
            "out_size, out_mtime_ns FROM outputs WHERE dst = ?",
            (str(rel),)).fetchone()

    def decide(self, job, overwrite=False):
        """What to do with one job: NEW (no output yet), SKIP (made from the
        same input and recipe), STALE (made by cfilter from another input
        or recipe: redo), FOREIGN (a file cfilter did not make: leave it)
        or REDO (``--overwrite``, or an output left pending by a stopped
        run)."""
        try:
            out = fingerprint(job.dst)
        except FileNotFoundError:
            return NEW
        except OSError:
            return FOREIGN          # something unreadable is in the way
        if overwrite:
            return REDO
        row = self._row(job.rel)
        if row is None:
            return FOREIGN
        src_size, src_mtime, src_hash, recipe, state, out_size, out_mtime = row
        if state != "done":
            return REDO             # a stopped run was writing this output
        if (out_size, out_mtime) != out:
            return FOREIGN          # replaced since cfilter wrote it
        if recipe != self.recipe:
            return STALE
        try:
            size, mtime = fingerprint(job.src)
        except OSError:
            return STALE            # let the read report the problem
        if size != src_size:
            return STALE
        if mtime != src_mtime:
            # touched: the same bytes still count as the same input
            try:
                return SKIP if _hash_file(job.src) == src_hash else STALE
            except OSError:
                return STALE
        return SKIP

    def mark_pending(self, jobs):
        """Commit a pending row for each job before its output is written."""
        rows = []
        for job in jobs:
            try:
                size, mtime = fingerprint(job.src)
            except OSError:
                size, mtime = -1, -1
            rows.append((str(job.rel), str(job.src.absolute()), size, mtime,
                         self.recipe))
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR REPLACE INTO outputs (dst, src, src_size, "
                "src_mtime_ns, src_hash, recipe, state) "
                "VALUES (?, ?, ?, ?, NULL, ?, 'pending')", rows)

    def mark_done(self, job, src_stat, src_hash, out_stat):
        """Commit that ``job``'s output is finished, made from the input
        whose ``(size, mtime_ns)`` and hash were read.

        ``out_stat`` is the ``(size, mtime_ns)`` of the file this run wrote,
        as its writer read them before the rename: never read again from the
        path, where another writer's file may be by now."""
        out_size, out_mtime = out_stat
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "UPDATE outputs SET state = 'done', src_size = ?, "
                "src_mtime_ns = ?, src_hash = ?, out_size = ?, "
                "out_mtime_ns = ? WHERE dst = ?",
                (src_stat[0], src_stat[1], src_hash, out_size, out_mtime,
                 str(job.rel)))
