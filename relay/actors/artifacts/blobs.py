"""The blob store: artifact bytes on disk, one file per sha256, written once.

An upload streams into a temp file under ``tmp/`` while it is hashed and counted, and is
refused as soon as it passes the limit (the temp file is deleted: nothing is kept of a
refused upload). A complete one is fsynced and renamed to ``sha256/<2 hex>/<62 hex>``,
unless that blob exists already (equal bytes are stored once), and its directory fsynced.

Every file operation runs in a worker thread (``trio.to_thread``): the trio thread never
blocks on the disk. A blob's mtime is set from the relay's clock when an upload finishes
with it (read then, under the lock: an upload that streamed for longer than the grace
period still leaves a young blob), so ``artifact-gc``'s grace period is measured on the
same clock as the rest of the relay, and one lock orders "finish with a blob" against
"collect a blob".
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import trio

from relay.actors.artifacts.rules import blob_parts, is_collectable
from relay.clock import Clock
from relay.errors import Invalid, NotFound, TooLarge

READ_CHUNK = 64 * 1024

# Held while an upload finishes with a blob and while gc decides on (and deletes) one: a
# blob an upload has just touched is young, so gc spares it.
_FINISHING = threading.Lock()


def too_large(max_bytes: int) -> TooLarge:
    return TooLarge(f"artifact too large (max {max_bytes} bytes)")


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class Collected:
    deleted: int
    bytes: int


class _Upload:
    """One temp file being written and hashed (used from worker threads only)."""

    def __init__(self, tmp_dir: Path) -> None:
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        self.path = Path(name)
        self.file: IO[bytes] = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.hash.update(chunk)
        self.file.write(chunk)
        self.size += len(chunk)

    def seal(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        self.path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.blob_dir = root / "sha256"

    def path_of(self, sha256: str) -> Path:
        prefix, rest = blob_parts(sha256)
        return self.blob_dir / prefix / rest

    async def receive(
        self,
        chunks: AsyncIterable[bytes],
        *,
        max_bytes: int,
        clock: Clock,
        expected_sha256: str | None = None,
    ) -> StoredBlob:
        """Store the bytes ``chunks`` yields; stop reading at once past ``max_bytes``. The
        blob's mtime is ``clock``'s time when the upload finishes with it.

        Raises TooLarge ``artifact too large (max <n> bytes)``, Invalid ``content is
        required`` (no bytes) or ``content does not match X-Content-SHA256``; in every
        refusal nothing stays on disk.
        """
        upload = await trio.to_thread.run_sync(_Upload, self.tmp_dir)
        kept = False
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                if upload.size + len(chunk) > max_bytes:
                    raise too_large(max_bytes)
                await trio.to_thread.run_sync(upload.write, chunk)
            if upload.size == 0:
                raise Invalid("content is required")
            sha256 = upload.hash.hexdigest()
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise Invalid("content does not match X-Content-SHA256")
            await trio.to_thread.run_sync(self._keep, upload, sha256, clock)
            kept = True
            return StoredBlob(sha256=sha256, size=upload.size)
        finally:
            # Stop the source (a request body's reader, a generator) where it is.
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                with trio.CancelScope(shield=True):
                    await aclose()
            if not kept:
                # Shielded: a cancelled (disconnected) upload still removes its temp file.
                with trio.CancelScope(shield=True):
                    await trio.to_thread.run_sync(upload.discard)

    def _keep(self, upload: _Upload, sha256: str, clock: Clock) -> None:
        upload.seal()
        target = self.path_of(sha256)
        with _FINISHING:
            # Read now, under the lock: a collect that runs after sees this blob young
            # (one stamped when the upload started may already be past the grace period).
            now_ms = clock.now_ms()
            stamp = (now_ms * 1_000_000, now_ms * 1_000_000)
            created = _make_dirs(target.parent)
            if target.exists():
                # Stored once: this upload's copy goes; the blob is young again for gc.
                os.utime(target, ns=stamp)
                upload.path.unlink(missing_ok=True)
                return
            os.utime(upload.path, ns=stamp)
            os.replace(upload.path, target)
            _fsync_dir(target.parent)
            for directory in created:
                _fsync_dir(directory.parent)

    async def chunks(self, sha256: str) -> AsyncIterator[bytes]:
        """The blob's bytes; NotFound ``artifact not found`` if it is gone (opened before
        the first chunk, so a response can still be an error)."""
        path = self.path_of(sha256)
        try:
            handle = await trio.open_file(path, "rb")
        except FileNotFoundError:
            raise NotFound("artifact not found") from None
        return _read_all(handle)

    async def collect(self, named: set[str], now_ms: int, grace_ms: int) -> Collected:
        """Delete every blob no artifact names (``named``, read before) that is older than
        the grace period, and temp files of uploads a crash cut short (older than it by the
        wall clock)."""
        return await trio.to_thread.run_sync(self._collect, named, now_ms, grace_ms)

    def _collect(self, named: set[str], now_ms: int, grace_ms: int) -> Collected:
        deleted = 0
        freed = 0
        if self.blob_dir.is_dir():
            for prefix_dir in sorted(self.blob_dir.iterdir()):
                if not prefix_dir.is_dir():
                    continue
                for blob in sorted(prefix_dir.iterdir()):
                    sha256 = prefix_dir.name + blob.name
                    with _FINISHING:
                        try:
                            stat = blob.stat()
                        except FileNotFoundError:
                            continue
                        if not is_collectable(
                            sha256 in named, stat.st_mtime_ns // 1_000_000, now_ms, grace_ms
                        ):
                            continue
                        blob.unlink(missing_ok=True)
                    deleted += 1
                    freed += stat.st_size
        if self.tmp_dir.is_dir():
            # Temp files carry the wall clock's mtime (they are being written now).
            cutoff_ns = time.time_ns() - grace_ms * 1_000_000
            for leftover in self.tmp_dir.iterdir():
                try:
                    if leftover.stat().st_mtime_ns < cutoff_ns:
                        leftover.unlink(missing_ok=True)
                except FileNotFoundError:
                    continue
        return Collected(deleted=deleted, bytes=freed)


async def _read_all(handle: Any) -> AsyncIterator[bytes]:
    async with handle:
        while True:
            chunk: bytes = await handle.read(READ_CHUNK)
            if not chunk:
                return
            yield chunk


def _make_dirs(directory: Path) -> list[Path]:
    """Create ``directory`` and missing parents; the ones created, outermost first."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    directory.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
