"""An upload's blob is young for ``artifact-gc`` when the upload finishes with it, however
long the client took to send it: an artifact answered 201 keeps its bytes."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.artifacts import blobs
from relay.clock import Clock, ManualClock
from relay.settings import Settings
from tests.http.helpers import H
from tests.http.test_artifacts import uploaded


async def test_a_slow_upload_keeps_its_blob_through_an_artifact_gc_run(
    client: Any, settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that streams its upload for longer than the grace period, and an
    ``artifact-gc`` run that read the named blobs before the artifact's row committed and
    collects right after the upload finished with its blob: the blob is young (stamped
    when the upload finished), so its content is still served after the 201."""
    grace_ms = int(settings.artifact_gc_grace_seconds * 1000)
    write = blobs._Upload.write

    def slow_write(self: Any, chunk: bytes) -> None:
        clock.advance(settings.artifact_gc_grace_seconds + 1)  # the client takes its time
        write(self, chunk)

    keep = blobs.BlobStore._keep

    def keep_then_gc(self: Any, upload: Any, sha256: str, upload_clock: Clock) -> None:
        keep(self, upload, sha256, upload_clock)
        # artifact-gc read the named blobs before this upload's row committed, and runs
        # now (on the relay's clock of now).
        self._collect(set(), clock.now_ms(), grace_ms)

    monkeypatch.setattr(blobs._Upload, "write", slow_write)
    monkeypatch.setattr(blobs.BlobStore, "_keep", keep_then_gc)
    artifact = (await uploaded(client, b"slow bytes"))["artifact"]
    content = await client.get(f"/api/artifacts/{artifact['id']}/content", headers=H)
    assert content.status_code == 200, await content.get_data()
    assert await content.get_data() == b"slow bytes"
