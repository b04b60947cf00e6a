"""Config routes: versioned entries by namespace and key, their history, and steward config.

Writes go through ``write_entry`` / ``remove_entry``, which the agent-profile routes
share: one group-commit job per write (so writes to a key are serialized), a stale
``expectedVersion`` becomes 409, and every committed write emits ``config-changed``.
Who reads and writes which entry (spawn policies by their stored cwd, the relay-wide
steward config and profiles by unconstrained callers only) is ``relay.http.config_auth``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import Field, RootModel
from quart import Blueprint
from quart_schema import document_request

from relay.actors.runtime.audit import Change, write_audited
from relay.domain.activity import ActivityInput
from relay.domain.config import (
    STEWARD_KEY,
    STEWARD_NAMESPACE,
    UPDATED_BY_MAX_LENGTH,
    ConfigEntry,
    ConfigRevision,
    ConfigWrite,
    VersionConflict,
    Written,
    check_key,
    check_namespace,
    check_value,
)
from relay.errors import Conflict, Invalid, NotFound
from relay.http import responses
from relay.http.auth import principal, requires
from relay.http.config_auth import (
    allow_config_history,
    allow_config_read,
    allow_config_write,
    may_read_config,
)
from relay.http.contract import int_param, responds
from relay.http.services import services
from relay.http.validation import Body, parse_body, query_int, read_json
from relay.store import config as config_store

bp = Blueprint("config", __name__)

NOT_FOUND = "config entry not found"


class PutConfigBody(Body):
    value: Any = Field(description="any JSON but null; at most RELAY_CONFIG_MAX_VALUE_BYTES")
    updated_by: str | None = Field(default=None, min_length=1, max_length=UPDATED_BY_MAX_LENGTH)
    expected_version: int | None = Field(default=None, ge=0, strict=True)


class StewardConfigBody(RootModel[dict[str, Any]]):
    """The steward config itself (a JSON object), or ``{"value": {...}, "updatedBy": "...",
    "expectedVersion": n}`` when it has a ``value`` field (409 when ``n`` is stale)."""


# -- shared by the config, steward and agent-profile routes ----------------------------------


async def write_entry(
    change: ConfigWrite, *, audit_of: Callable[[ConfigEntry], ActivityInput] | None = None
) -> Written:
    """Commit one write with its event; raises ``Conflict`` on a stale version.

    ``audit_of(entry)``, if given, is the audit row of the write, stored in its commit (a
    stale version writes neither).
    """
    rt = services().runtime
    now = rt.clock.now_ms()

    def audits(outcome: Written | VersionConflict) -> list[ActivityInput]:
        if audit_of is None or isinstance(outcome, VersionConflict):
            return []
        return [audit_of(outcome.entry)]

    def changes(outcome: Written | VersionConflict) -> list[Change]:
        if isinstance(outcome, VersionConflict):
            return []
        return [_changed(outcome.entry.namespace, outcome.entry.key, outcome.entry.version)]

    outcome = await write_audited(
        rt, lambda: config_store.put(change, now), audits, changes_of=changes
    )
    if isinstance(outcome, VersionConflict):
        raise Conflict(outcome.message)
    return outcome


async def remove_entry(
    namespace: str,
    key: str,
    *,
    not_found: str,
    expected_version: int | None = None,
    audit_of: Callable[[ConfigRevision], ActivityInput] | None = None,
) -> ConfigRevision:
    """Delete the entry (its history keeps a ``deleted`` revision), with its event and
    ``audit_of(revision)``'s row, if given, in its commit."""
    rt = services().runtime
    now = rt.clock.now_ms()
    by = principal().sub

    def changes(outcome: ConfigRevision | VersionConflict | None) -> list[Change]:
        if outcome is None or isinstance(outcome, VersionConflict):
            return []
        return [_changed(namespace, key, outcome.version, deleted=True)]

    def audits(outcome: ConfigRevision | VersionConflict | None) -> list[ActivityInput]:
        if audit_of is None or outcome is None or isinstance(outcome, VersionConflict):
            return []
        return [audit_of(outcome)]

    outcome = await write_audited(
        rt,
        lambda: config_store.delete(
            namespace, key, now=now, updated_by=by, expected_version=expected_version
        ),
        audits,
        changes_of=changes,
    )
    if outcome is None:
        raise NotFound(not_found)
    if isinstance(outcome, VersionConflict):
        raise Conflict(outcome.message)
    return outcome


def max_value_bytes() -> int:
    """The largest config value this relay stores (``RELAY_CONFIG_MAX_VALUE_BYTES``)."""
    return services().runtime.settings.config_max_value_bytes


def _changed(namespace: str, key: str, version: int, *, deleted: bool = False) -> Change:
    """The stream event of a config write, stored in the write's own commit."""
    data: dict[str, Any] = {"namespace": namespace, "key": key, "version": version}
    if deleted:
        data["deleted"] = True
    return Change("config-changed", data, view="config")


# -- generic config ----------------------------------------------------------------------------


@bp.get("/api/config/<namespace>")
@responds(list[responses.ConfigEntry], errors=(400,))
@requires("config:read")
async def list_config(namespace: str) -> list[dict[str, Any]]:
    check_namespace(namespace)
    entries = await services().runtime.store.run(lambda: config_store.list_namespace(namespace))
    return [e.to_json() for e in entries if may_read_config(e)]


@bp.get("/api/config/<namespace>/<key>")
@responds(responses.ConfigEntry, errors=(400,))
@requires("config:read")
async def get_config(namespace: str, key: str) -> dict[str, Any]:
    check_namespace(namespace)
    check_key(key)
    entry = await services().runtime.store.run(lambda: config_store.get(namespace, key))
    allow_config_read(namespace, key, entry)
    if entry is None:
        raise NotFound(NOT_FOUND)
    return entry.to_json()


@bp.put("/api/config/<namespace>/<key>")
@responds({201: responses.ConfigEntry, 200: responses.ConfigEntry}, errors=(409,))
@document_request(PutConfigBody)
@requires("config:write")
async def put_config(namespace: str, key: str) -> tuple[dict[str, Any], int]:
    check_namespace(namespace)
    check_key(key)
    body = await parse_body(PutConfigBody)
    # The steward's entry, however it is written (the dashboard's editor writes it here,
    # for its expectedVersion): the same shape and the same audit as PUT /api/steward-config.
    steward = (namespace, key) == (STEWARD_NAMESPACE, STEWARD_KEY)
    if steward and not isinstance(body.value, dict):
        raise Invalid("value must be an object")
    expected = await allow_config_write(namespace, key, body.expected_version, body.value)
    written = await write_entry(
        ConfigWrite(
            namespace=namespace,
            key=key,
            value=check_value(body.value, max_value_bytes()),
            updated_by=body.updated_by or principal().sub,
            expected_version=expected,
        ),
        audit_of=_steward_audit if steward else None,
    )
    return written.entry.to_json(), 201 if written.created else 200


@bp.delete("/api/config/<namespace>/<key>")
@responds(
    responses.DeletedConfig,
    errors=(409,),
    query=(int_param("expectedVersion", 0, 2**31 - 1),),
)
@requires("config:write")
async def delete_config(namespace: str, key: str) -> dict[str, Any]:
    check_namespace(namespace)
    check_key(key)
    given = query_int("expectedVersion", -1, low=0, high=2**31 - 1)  # -1: not given
    expected = await allow_config_write(namespace, key, given if given >= 0 else None)
    steward = (namespace, key) == (STEWARD_NAMESPACE, STEWARD_KEY)
    revision = await remove_entry(
        namespace,
        key,
        not_found=NOT_FOUND,
        expected_version=expected,
        audit_of=_steward_audit if steward else None,
    )
    return {"ok": True, "namespace": namespace, "key": key, "version": revision.version}


@bp.get("/api/config/<namespace>/<key>/history")
@responds(list[responses.ConfigRevision], query=(int_param("limit", 1, 1000),))
@requires("config:read")
async def config_history(namespace: str, key: str) -> list[dict[str, Any]]:
    check_namespace(namespace)
    check_key(key)
    limit = query_int("limit", 100, low=1, high=1000)
    revisions = await services().runtime.store.run(
        lambda: config_store.history(namespace, key, limit)
    )
    allow_config_history(namespace, key, revisions)
    if not revisions:
        raise NotFound(NOT_FOUND)
    return [revision.to_json() for revision in revisions]


# -- steward config ----------------------------------------------------------------------------


@bp.get("/api/steward-config")
@responds(responses.ConfigEntry)
@requires("config:read")
async def get_steward_config() -> dict[str, Any]:
    entry = await services().runtime.store.run(
        lambda: config_store.get(STEWARD_NAMESPACE, STEWARD_KEY)
    )
    if entry is None:
        return {
            "namespace": STEWARD_NAMESPACE,
            "key": STEWARD_KEY,
            "version": 0,
            "value": {},
            "updatedAt": None,
            "updatedBy": None,
        }
    return entry.to_json()


@bp.put("/api/steward-config")
@document_request(StewardConfigBody)
@responds({201: responses.ConfigEntry, 200: responses.ConfigEntry}, errors=(409,))
@requires("config:write")
async def put_steward_config() -> tuple[dict[str, Any], int]:
    # The body is the config itself, or {value, updatedBy} when it has a "value" field.
    data = await read_json()
    wrapped = isinstance(data, dict) and "value" in data
    value = data["value"] if wrapped else data
    updated_by = _updated_by(data.get("updatedBy")) if isinstance(data, dict) else None
    # Only the wrapped body carries it: unwrapped, the body is the config, any field its own.
    given = _expected_version(data.get("expectedVersion")) if wrapped else None
    if not isinstance(value, dict):
        raise Invalid("value must be an object")
    expected = await allow_config_write(STEWARD_NAMESPACE, STEWARD_KEY, given, value)
    written = await write_entry(
        ConfigWrite(
            namespace=STEWARD_NAMESPACE,
            key=STEWARD_KEY,
            value=check_value(value, max_value_bytes()),
            updated_by=updated_by or principal().sub,
            expected_version=expected,
        ),
        audit_of=_steward_audit,
    )
    return written.entry.to_json(), 201 if written.created else 200


def _steward_audit(entry: ConfigEntry | ConfigRevision) -> ActivityInput:
    """The steward entry's audit row: written (an entry), or deleted (its revision)."""
    deleted = isinstance(entry, ConfigRevision) and entry.deleted
    return ActivityInput(
        kind="config",
        title="Steward config deleted" if deleted else "Steward config updated",
        meta=f"version {entry.version}",
        view="config",
        metadata={
            "namespace": STEWARD_NAMESPACE,
            "key": STEWARD_KEY,
            "version": entry.version,
            "updatedBy": entry.updated_by,
        },
    )


def _updated_by(raw: Any) -> str | None:
    """``updatedBy`` as the reference cleans it: a string, trimmed, empty meaning absent."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid("updatedBy must be a string")
    cleaned = raw.strip()
    if len(cleaned) > UPDATED_BY_MAX_LENGTH:
        raise Invalid(f"updatedBy must be at most {UPDATED_BY_MAX_LENGTH} characters")
    return cleaned or None


def _expected_version(raw: Any) -> int | None:
    """``expectedVersion`` as ``PutConfigBody`` takes it: an integer (strictly: no bool,
    float or string), at least 0."""
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool):
        raise Invalid("expectedVersion must be an integer")
    if raw < 0:
        raise Invalid("expectedVersion must be at least 0")
    return raw
