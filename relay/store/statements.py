"""Prepared-once SQL for the hottest writes (heartbeats, commands, the audit trail).

tortoise builds every ``filter(...).update(...)`` afresh through pypika's copying query
builder: about 300 us of Python per UPDATE, where the statement never changes and the
database needs under 100 us; ``Model.create`` spends as long again building a model
instance, running its validators and signals, only to throw it away. ``UpdateByKey`` and
``InsertRow`` render their statement once per dialect from the model's own metadata and
convert values with the model's own fields, so the rows they write are exactly what the
ORM would write, and they run on the connection of the current transaction like any ORM
call (inside the group commit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tortoise.models import Model


class UpdateByKey:
    """``UPDATE <table> SET <columns> WHERE <primary key> = ?`` for one model."""

    def __init__(self, model: type[Model], columns: Sequence[str]) -> None:
        meta = model._meta
        unknown = [name for name in columns if name not in meta.fields_db_projection]
        if unknown or not columns:
            raise ValueError(f"{model.__name__} has no columns {unknown or columns}")
        self._model = model
        self._columns = tuple(columns)
        self._fields = [meta.fields_map[name] for name in self._columns]
        assignments = [f'"{meta.fields_db_projection[name]}" = ?' for name in self._columns]
        key_column = meta.fields_db_projection[meta.pk_attr]
        # Identifiers come from the model's metadata, never from input; values are bound.
        self._sql = (
            f'UPDATE "{meta.db_table}" SET {", ".join(assignments)} WHERE "{key_column}" = ?'  # noqa: S608
        )
        self._by_dialect: dict[str, str] = {}

    def sql(self, dialect: str) -> str:
        """The statement in ``dialect``'s parameter style (PostgreSQL numbers them)."""
        rendered = self._by_dialect.get(dialect)
        if rendered is None:
            rendered = _numbered(self._sql) if dialect == "postgres" else self._sql
            self._by_dialect[dialect] = rendered
        return rendered

    async def run(self, key: Any, values: Mapping[str, Any]) -> int:
        """Write ``values`` (every column of this statement) to row ``key``; rows changed."""
        db = self._model._meta.db  # the current transaction's connection, if in one
        model = self._model
        params = [
            field.to_db_value(values[field.model_field_name], model) for field in self._fields
        ]
        params.append(key)
        changed, _rows = await db.execute_query(self.sql(db.capabilities.dialect), params)
        return int(changed)


class InsertRow:
    """``INSERT INTO <table> (<every column>) VALUES (...)`` for one model.

    ``run`` takes a value for every column but a database-generated primary key, and
    returns that key (None for a model whose key the caller supplies).
    """

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        self._model = model
        self._generated = meta.pk.generated
        names = [
            name
            for name in meta.fields_db_projection
            if not (self._generated and name == meta.pk_attr)
        ]
        self._fields = [meta.fields_map[name] for name in names]
        columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
        placeholders = ", ".join("?" for _ in names)
        # Identifiers come from the model's metadata, never from input; values are bound.
        self._sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({placeholders})'  # noqa: S608
        self._key_column = meta.fields_db_projection[meta.pk_attr]
        self._by_dialect: dict[str, str] = {}

    def sql(self, dialect: str) -> str:
        """The statement in ``dialect``'s style; PostgreSQL returns the generated key."""
        rendered = self._by_dialect.get(dialect)
        if rendered is None:
            rendered = self._sql
            if dialect == "postgres":
                rendered = _numbered(rendered)
                if self._generated:
                    rendered += f' RETURNING "{self._key_column}"'
            self._by_dialect[dialect] = rendered
        return rendered

    async def run(self, values: Mapping[str, Any]) -> Any:
        """Insert one row of ``values``; the generated primary key, else None."""
        db = self._model._meta.db  # the current transaction's connection, if in one
        model = self._model
        params = [
            field.to_db_value(values[field.model_field_name], model) for field in self._fields
        ]
        dialect = db.capabilities.dialect
        # SQLite answers the new rowid; asyncpg the RETURNING row.
        inserted = await db.execute_insert(self.sql(dialect), params)
        if not self._generated:
            return None
        return inserted if dialect != "postgres" else inserted[0]


def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(
        part + (f"${index}" if index < len(parts) else "")
        for index, part in enumerate(parts, start=1)
    )
