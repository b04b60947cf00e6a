from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

# Indexes that serve the search's substring match (``search_text LIKE '%term%'``) without
# changing what it matches: the query keeps its LIKE, the index only narrows the rows.
#
# SQLite: an FTS5 ``trigram`` table over ``memories.search_text`` (external content keyed
# by the table's rowid, so the text is not stored twice), kept current by triggers; the
# search narrows a term of 3+ characters with ``MATCH`` (relay/store/memory_search.py).
# relay never VACUUMs (which may renumber rowids); after one, run the FTS5 ``rebuild``.
# PostgreSQL: ``pg_trgm`` GIN indexes on ``search_text`` and ``search_tags``, which the
# planner uses for LIKE on its own (skipped if the extension cannot be installed).
_SQLITE = """
CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
    search_text, content='memories', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER IF NOT EXISTS memories_fts_insert AFTER INSERT ON memories BEGIN
    INSERT INTO memories_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER IF NOT EXISTS memories_fts_delete AFTER DELETE ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, search_text)
    VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER IF NOT EXISTS memories_fts_update AFTER UPDATE OF search_text ON memories BEGIN
    INSERT INTO memories_fts(memories_fts, rowid, search_text)
    VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO memories_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
END;
INSERT INTO memories_fts(memories_fts) VALUES ('rebuild');
"""

_POSTGRES = """
CREATE INDEX IF NOT EXISTS memories_search_text_trgm
    ON memories USING gin (search_text gin_trgm_ops);
CREATE INDEX IF NOT EXISTS memories_search_tags_trgm
    ON memories USING gin (search_tags gin_trgm_ops);
"""


async def create_indexes(_apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    dialect = client.capabilities.dialect
    if dialect == "sqlite":
        await client.execute_script(_SQLITE)
    elif dialect == "postgres":
        _count, rows = await client.execute_query(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'"
        )
        if rows:
            await client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            await client.execute_script(_POSTGRES)


class Migration(migrations.Migration):
    """Search speed: trigram indexes for the memory search's substring match."""

    dependencies = [("relay", "0012_memory")]

    initial = False

    operations = [ops.RunPython(create_indexes, ops.RunPython.noop)]
