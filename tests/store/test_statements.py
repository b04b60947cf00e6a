"""UpdateByKey and InsertRow write what the ORM would and SelectByKeys reads what it would,
inside the caller's transaction, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from tortoise.transactions import in_transaction

from relay.store import models
from relay.store.statements import InsertRow, SelectByKeys, UpdateByKey, numbered
from relay.store.thread import StoreThread


@pytest.fixture
def store(database_url: str) -> Iterator[StoreThread]:
    store = StoreThread(database_url)
    store.start()
    yield store
    store.stop()


async def _command(command_id: str) -> models.Command:
    return await models.Command.create(
        id=command_id,
        type="t",
        target="o1",
        target_kind="orchestrator",
        params={"keep": 1},
        status="queued",
        created_at=1,
        updated_at=1,
    )


def test_postgres_gets_numbered_parameters() -> None:
    assert numbered("UPDATE t SET a = ?, b = ? WHERE id = ?") == (
        "UPDATE t SET a = $1, b = $2 WHERE id = $3"
    )


def test_unknown_columns_are_refused_when_the_statement_is_built() -> None:
    with pytest.raises(ValueError, match="nope"):
        UpdateByKey(models.Command, ("status", "nope"))


async def test_writes_converted_values_and_leaves_other_columns(store: StoreThread) -> None:
    statement = UpdateByKey(models.Command, ("status", "result", "effects_applied"))

    async def job() -> tuple[int, int, models.Command | None]:
        await _command("c-stmt-1")
        changed = await statement.run(
            "c-stmt-1", {"status": "succeeded", "result": {"out": [1, 2]}, "effects_applied": True}
        )
        missing = await statement.run(
            "c-none", {"status": "failed", "result": None, "effects_applied": False}
        )
        return changed, missing, await models.Command.get_or_none(id="c-stmt-1")

    changed, missing, row = await store.write(job)

    assert (changed, missing) == (1, 0)
    assert row is not None
    assert row.status == "succeeded"
    assert row.result == {"out": [1, 2]}  # JSON as the ORM reads it back
    assert row.effects_applied is True
    assert row.params == {"keep": 1}  # not a column of the statement: untouched


async def test_runs_inside_the_callers_transaction(store: StoreThread) -> None:
    statement = UpdateByKey(models.Command, ("status",))
    await store.write(lambda: _command("c-stmt-2"))

    async def rolled_back() -> None:
        async with in_transaction():
            await statement.run("c-stmt-2", {"status": "failed"})
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await store.run(rolled_back)
    row = await store.run(lambda: models.Command.get(id="c-stmt-2"))

    assert row.status == "queued"


async def test_insert_writes_every_column_as_the_orm_reads_it(store: StoreThread) -> None:
    statement = InsertRow(models.Command)
    values = {
        "id": "c-ins-1",
        "type": "t",
        "source": None,
        "target": "o1",
        "target_kind": "orchestrator",
        "correlation_id": "corr",
        "params": {"nested": {"list": [1, "two"]}},
        "status": "queued",
        "result": None,
        "error": None,
        "attempts": 0,
        "created_at": 5,
        "updated_at": 6,
        "delivered_at": None,
        "ack_deadline": None,
        "settled_at": None,
        "expires_at": 7,
        "effects_applied": False,
        "agent_id": "a1",
    }

    key = await store.write(lambda: statement.run(values))
    row = await store.run(lambda: models.Command.get(id="c-ins-1"))

    assert key is None  # the caller chose the key
    assert {name: getattr(row, name) for name in values} == values


async def test_insert_returns_the_generated_key_in_order(store: StoreThread) -> None:
    statement = InsertRow(models.StreamEvent)

    def values(n: int) -> dict[str, object]:
        return {"event": "e", "data": {"n": n}, "view": None, "agent_id": "a", "created_at": n}

    async def two() -> tuple[int, int]:
        return await statement.run(values(1)), await statement.run(values(2))

    first, second = await store.write(two)
    rows = await store.run(lambda: models.StreamEvent.filter(id__in=[first, second]).order_by("id"))

    assert second > first
    assert [(row.id, row.data) for row in rows] == [(first, {"n": 1}), (second, {"n": 2})]


async def test_insert_is_rolled_back_with_the_callers_transaction(store: StoreThread) -> None:
    statement = InsertRow(models.StreamEvent)

    async def rolled_back() -> None:
        async with in_transaction():
            await statement.run(
                {"event": "e", "data": {}, "view": None, "agent_id": None, "created_at": 1}
            )
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        await store.run(rolled_back)

    assert await store.run(lambda: models.StreamEvent.all().count()) == 0


def test_insert_leaves_a_generated_key_to_the_database() -> None:
    statement = InsertRow(models.StreamEvent)
    assert '"id"' not in statement.sql("sqlite")
    assert statement.sql("postgres").endswith('RETURNING "id"')


async def test_insert_needs_a_value_for_every_column(store: StoreThread) -> None:
    statement = InsertRow(models.StreamEvent)
    with pytest.raises(KeyError, match="agent_id"):
        await store.write(
            lambda: statement.run({"event": "e", "data": {}, "view": None, "created_at": 1})
        )


async def test_select_reads_every_column_as_the_orm_does(store: StoreThread) -> None:
    statement = SelectByKeys(models.Command, tuple(models.Command._meta.fields_db_projection))

    async def both() -> tuple[list[models.Command], list[SimpleNamespace]]:
        await _command("c-sel-1")
        await models.Command.filter(id="c-sel-1").update(effects_applied=True, result=[1, "x"])
        await _command("c-sel-2")
        orm = await models.Command.filter(id__in=["c-sel-1", "c-sel-2"]).order_by("id")
        return orm, await statement.run(("c-sel-2", "c-none", "c-sel-1"))

    orm, read = await store.write(both)
    names = models.Command._meta.fields_db_projection

    expected = [{name: getattr(row, name) for name in names} for row in orm]
    got = sorted((vars(row) for row in read), key=lambda row: str(row["id"]))
    assert got == expected
    assert got[0]["effects_applied"] is True  # a bool, as the ORM gives it, on both databases


async def test_select_of_no_keys_reads_nothing_and_many_keys_read_all(store: StoreThread) -> None:
    statement = SelectByKeys(models.Command, ("id", "status"))
    ids = [f"c-many-{n}" for n in range(12)]  # past the shapes kept rendered

    async def job() -> tuple[list[SimpleNamespace], list[SimpleNamespace]]:
        for command_id in ids:
            await _command(command_id)
        return await statement.run(()), await statement.run(ids)

    none, many = await store.write(job)

    assert none == []
    assert sorted(vars(row)["id"] for row in many) == sorted(ids)


async def test_select_sees_the_callers_transaction(store: StoreThread) -> None:
    statement = SelectByKeys(models.Command, ("id", "status"))

    async def inside() -> list[object]:
        async with in_transaction():
            await _command("c-sel-tx")
            seen = await statement.run(("c-sel-tx",))
            raise LookupError(seen)

    with pytest.raises(LookupError) as raised:
        await store.run(inside)

    assert [vars(row) for row in raised.value.args[0]] == [{"id": "c-sel-tx", "status": "queued"}]
    assert await store.run(lambda: statement.run(("c-sel-tx",))) == []  # rolled back


def test_select_refuses_unknown_columns() -> None:
    with pytest.raises(ValueError, match="nope"):
        SelectByKeys(models.Command, ("id", "nope"))
