"""Prepared-once SQL for the hottest writes (heartbeats, commands, the audit trail) and
reads by key (the authorization checks every agent-scoped request makes).

tortoise builds every ``filter(...).update(...)`` afresh through pypika's copying query
builder: about 300 us of Python per UPDATE, where the statement never changes and the
database needs under 100 us; ``Model.create`` spends as long again building a model
instance, running its validators and signals, only to throw it away. ``UpdateByKey`` and
``InsertRow`` render their statement once per dialect from the model's own metadata and
convert values with the model's own fields, so the rows they write are exactly what the
ORM would write, and they run on the connection of the current transaction like any ORM
call (inside the group commit). ``SelectByKeys`` reads rows by primary key the same way:
~10 us where ``filter(id__in=…)`` spends ~100 us building the query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

from tortoise.fields import Field, JSONField
from tortoise.models import Model


class _Prepared:
    """A statement rendered once from a model's metadata; run on the current transaction."""

    def __init__(self, model: type[Model], names: Sequence[str], sql: str) -> None:
        self._model = model
        self._fields = [model._meta.fields_map[name] for name in names]
        self._sql = sql
        self._by_dialect: dict[str, str] = {}

    def sql(self, dialect: str) -> str:
        """The statement in ``dialect``'s style, rendered on first use."""
        rendered = self._by_dialect.get(dialect)
        if rendered is None:
            rendered = self._render(dialect)
            self._by_dialect[dialect] = rendered
        return rendered

    def _render(self, dialect: str) -> str:
        # PostgreSQL numbers its parameters.
        return numbered(self._sql) if dialect == "postgres" else self._sql

    def _bind(self, values: Mapping[str, Any]) -> tuple[Any, list[Any]]:
        """The connection to run on (the current transaction's, if in one) and the values
        converted by the model's own fields, in the statement's order."""
        model = self._model
        params = [
            field.to_db_value(_json_text(field, values[field.model_field_name]), model)
            for field in self._fields
        ]
        return model._meta.db, params


def _json_text(field: Field[Any], value: Any) -> Any:
    """A value for ``field``: a JSON column's string encoded first. tortoise's JSONField
    takes a ``str`` for JSON text already encoded: a task result ``"done"`` was refused
    (500), and ``"[1]"`` stored as a list."""
    if isinstance(value, str) and isinstance(field, JSONField):
        return field.encoder(value)
    return value


class UpdateByKey(_Prepared):
    """``UPDATE <table> SET <columns> WHERE <primary key> = ?`` for one model."""

    def __init__(self, model: type[Model], columns: Sequence[str]) -> None:
        meta = model._meta
        unknown = [name for name in columns if name not in meta.fields_db_projection]
        if unknown or not columns:
            raise ValueError(f"{model.__name__} has no columns {unknown or columns}")
        assignments = [f'"{meta.fields_db_projection[name]}" = ?' for name in columns]
        key_column = meta.fields_db_projection[meta.pk_attr]
        # Identifiers come from the model's metadata, never from input; values are bound.
        sql = f'UPDATE "{meta.db_table}" SET {", ".join(assignments)} WHERE "{key_column}" = ?'  # noqa: S608
        super().__init__(model, columns, sql)

    async def run(self, key: Any, values: Mapping[str, Any]) -> int:
        """Write ``values`` (every column of this statement) to row ``key``; rows changed."""
        db, params = self._bind(values)
        params.append(key)
        changed, _rows = await db.execute_query(self.sql(db.capabilities.dialect), params)
        return int(changed)


class InsertRow(_Prepared):
    """``INSERT INTO <table> (<every column>) VALUES (...)`` for one model.

    ``run`` takes a value for every column but a database-generated primary key, and
    returns that key (None for a model whose key the caller supplies).
    """

    def __init__(self, model: type[Model]) -> None:
        meta = model._meta
        self._generated = meta.pk.generated
        names = [
            name
            for name in meta.fields_db_projection
            if not (self._generated and name == meta.pk_attr)
        ]
        columns = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in names)
        placeholders = ", ".join("?" for _ in names)
        # Identifiers come from the model's metadata, never from input; values are bound.
        sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({placeholders})'  # noqa: S608
        self._key_column = meta.fields_db_projection[meta.pk_attr]
        super().__init__(model, names, sql)

    def _render(self, dialect: str) -> str:
        rendered = super()._render(dialect)
        if dialect == "postgres" and self._generated:
            rendered += f' RETURNING "{self._key_column}"'  # SQLite answers the rowid
        return rendered

    async def run(self, values: Mapping[str, Any]) -> Any:
        """Insert one row of ``values``; the generated primary key, else None."""
        db, params = self._bind(values)
        dialect = db.capabilities.dialect
        # SQLite answers the new rowid; asyncpg the RETURNING row.
        inserted = await db.execute_insert(self.sql(dialect), params)
        if not self._generated:
            return None
        return inserted if dialect != "postgres" else inserted[0]


class SelectByKeys:
    """``SELECT <columns> FROM <table> WHERE <primary key> IN (?, …)`` for one model.

    Rows come back as namespaces of the model's field names holding what the ORM would
    have given (each value through its field's ``to_python_value``), in no set order.
    """

    def __init__(self, model: type[Model], columns: Sequence[str]) -> None:
        meta = model._meta
        unknown = [name for name in columns if name not in meta.fields_db_projection]
        if unknown or not columns:
            raise ValueError(f"{model.__name__} has no columns {unknown or columns}")
        self._model = model
        self._names = tuple(columns)
        self._fields = [meta.fields_map[name] for name in columns]
        selected = ", ".join(f'"{meta.fields_db_projection[name]}"' for name in columns)
        key_column = meta.fields_db_projection[meta.pk_attr]
        # Identifiers come from the model's metadata, never from input; values are bound.
        self._prefix = f'SELECT {selected} FROM "{meta.db_table}" WHERE "{key_column}" IN ('  # noqa: S608
        self._by_shape: dict[tuple[str, int], str] = {}

    def sql(self, dialect: str, keys: int) -> str:
        rendered = self._by_shape.get((dialect, keys))
        if rendered is None:
            rendered = self._prefix + ", ".join("?" * keys) + ")"
            if dialect == "postgres":
                rendered = numbered(rendered)
            if keys <= 8:  # the shapes asked again and again; others are rendered each time
                self._by_shape[(dialect, keys)] = rendered
        return rendered

    async def run(self, keys: Sequence[Any]) -> list[SimpleNamespace]:
        """The rows whose key is one of ``keys`` (none asked: none read)."""
        if not keys:
            return []
        db = self._model._meta.db
        _count, rows = await db.execute_query(
            self.sql(db.capabilities.dialect, len(keys)), list(keys)
        )
        names, fields = self._names, self._fields
        return [
            SimpleNamespace(
                **{
                    name: field.to_python_value(row[i])
                    for i, (name, field) in enumerate(zip(names, fields, strict=True))
                }
            )
            for row in rows
        ]


def numbered(sql: str) -> str:
    """``?`` placeholders as PostgreSQL's ``$1, $2, …``."""
    parts = sql.split("?")
    return "".join(
        part + (f"${index}" if index < len(parts) else "")
        for index, part in enumerate(parts, start=1)
    )
