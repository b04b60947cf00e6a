"""Artifacts: uploaded bytes stored once per sha256 (``blobs``), one row per upload, the
one rule of who reads a secret one (``allow_artifact``), and the ``artifact-gc`` job.
"""

from relay.actors.artifacts.blobs import BlobStore, Collected, StoredBlob, too_large
from relay.actors.artifacts.flows import (
    HOLDER_SOURCES,
    Upload,
    allow_artifact,
    artifact_gc,
    blob_store,
    content,
    delete,
    listed,
    may_read,
    upload,
)
from relay.actors.artifacts.install import install
from relay.actors.artifacts.rules import (
    ascii_fallback,
    check_expected_sha256,
    check_kind,
    check_media_type,
    check_name,
    check_sensitivity,
)

__all__ = [
    "HOLDER_SOURCES",
    "BlobStore",
    "Collected",
    "StoredBlob",
    "Upload",
    "allow_artifact",
    "artifact_gc",
    "ascii_fallback",
    "blob_store",
    "check_expected_sha256",
    "check_kind",
    "check_media_type",
    "check_name",
    "check_sensitivity",
    "content",
    "delete",
    "install",
    "listed",
    "may_read",
    "too_large",
    "upload",
]
