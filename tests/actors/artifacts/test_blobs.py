"""The blob store on a real directory: streamed, stored once, nothing left of a refusal,
concurrent equal uploads, and gc by the injected clock."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from relay.actors.artifacts import BlobStore
from relay.clock import ManualClock
from relay.errors import Invalid


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await trio.lowlevel.checkpoint()
        yield part


def files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def test_stored_under_its_sha_from_chunks(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    blob = await store.receive(chunks(b"ab", b"", b"cd"), max_bytes=4, clock=ManualClock(5_000))
    sha = hashlib.sha256(b"abcd").hexdigest()
    assert (blob.sha256, blob.size) == (sha, 4)
    path = tmp_path / "sha256" / sha[:2] / sha[2:]
    assert files(tmp_path) == [path]
    assert path.stat().st_mtime_ns == 5_000 * 1_000_000  # the relay's clock, for gc
    read = b"".join([c async for c in await store.chunks(sha)])
    assert read == b"abcd"


async def test_refusals_leave_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(Invalid, match="content is required"):
        await store.receive(chunks(), max_bytes=10, clock=ManualClock(0))
    with pytest.raises(Invalid, match="content does not match X-Content-SHA256"):
        await store.receive(
            chunks(b"x"), max_bytes=10, clock=ManualClock(0), expected_sha256="0" * 64
        )
    assert files(tmp_path) == []


async def test_a_cancelled_upload_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)

    async def forever() -> AsyncIterator[bytes]:
        yield b"start"
        await trio.sleep_forever()
        yield b"never"  # pragma: no cover

    with trio.move_on_after(0.05):
        await store.receive(forever(), max_bytes=100, clock=ManualClock(0))
    assert files(tmp_path) == []


async def test_concurrent_equal_uploads_store_one_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    results = []

    async def one() -> None:
        results.append(
            await store.receive(chunks(b"same", b"!"), max_bytes=10, clock=ManualClock(0))
        )

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(one)
    assert len({r.sha256 for r in results}) == 1
    assert len(files(tmp_path)) == 1


async def test_collect_by_name_and_age(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    old = await store.receive(chunks(b"old"), max_bytes=10, clock=ManualClock(1_000))
    named = await store.receive(chunks(b"named"), max_bytes=10, clock=ManualClock(1_000))
    young = await store.receive(chunks(b"young"), max_bytes=10, clock=ManualClock(9_000))
    collected = await store.collect({named.sha256}, now_ms=10_000, grace_ms=5_000)
    assert (collected.deleted, collected.bytes) == (1, 3)
    left = {p.parent.name + p.name for p in files(tmp_path)}
    assert left == {named.sha256, young.sha256}
    assert old.sha256 not in left


async def test_collect_removes_temp_files_a_crash_left(tmp_path: Path) -> None:
    """An upload cut short by kill -9 leaves its temp file: gone once older than the grace
    period (by the wall clock, which wrote it); one being written now stays."""
    import os
    import time

    store = BlobStore(tmp_path)
    store.tmp_dir.mkdir(parents=True)
    stale = store.tmp_dir / "upload-stale"
    stale.write_bytes(b"half")
    old_ns = time.time_ns() - 7_200 * 1_000_000_000
    os.utime(stale, ns=(old_ns, old_ns))
    fresh = store.tmp_dir / "upload-fresh"
    fresh.write_bytes(b"now")
    await store.collect(set(), now_ms=0, grace_ms=3_600_000)
    assert sorted(store.tmp_dir.iterdir()) == [fresh]


async def test_a_blob_is_stamped_when_its_upload_finishes(tmp_path: Path) -> None:
    """An upload that streams for longer than the grace period leaves a young blob: its
    age is counted from when the upload finished with it, not from when it started."""
    store = BlobStore(tmp_path)
    clock = ManualClock(1_000)

    async def slow() -> AsyncIterator[bytes]:
        for part in (b"sl", b"ow"):
            clock.advance(10)  # ten seconds per chunk: the client takes its time
            yield part

    blob = await store.receive(slow(), max_bytes=10, clock=clock)
    collected = await store.collect(set(), now_ms=clock.now_ms(), grace_ms=5_000)
    assert collected.deleted == 0
    assert {p.parent.name + p.name for p in files(tmp_path)} == {blob.sha256}
