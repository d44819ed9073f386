"""The PostgreSQL table the benchmarks dump and drill: rows of a generated event log
(ids, timestamps, md5 text), inserted in batches until the database reaches a size."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the callers put the checkout on sys.path
    from tests import dbs

ROWS_PER_MB = 7_000  # about, for these rows


def fill(server: dbs.DbServer, db: str, size_mb: int) -> int:
    """Create database DB of at least size_mb; return its size in bytes."""
    server.create_database(db)
    server.sql("CREATE TABLE events (id bigint, at timestamptz, kind text, payload text);", db)
    start, batch = 1, min(500_000, size_mb * ROWS_PER_MB)
    while True:
        stop = start + batch - 1
        server.sql(
            "INSERT INTO events SELECT g, timestamptz '2026-01-01' + g * interval '1 second', "
            "(ARRAY['view','click','buy'])[1 + g % 3], md5(g::text) || ' ' || "
            f"md5((g * 31)::text) || ' item ' || (g % 1000) "
            f"FROM generate_series({start}, {stop}) g;",
            db,
            timeout=600,
        )
        start = stop + 1
        size = int(server.sql(f"SELECT pg_database_size('{db}');").strip())
        if size >= size_mb * 1024 * 1024:
            # Set every hint bit now: the first scan after a bulk load writes the whole
            # table back, which would slow whichever dump comes first.
            server.sql("VACUUM (FREEZE, ANALYZE) events;", db, timeout=1800)
            return size
