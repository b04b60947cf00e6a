"""Upload checks and the gc decision, pure."""

from __future__ import annotations

import pytest

from relay.actors.artifacts import rules
from relay.errors import Invalid


def test_name() -> None:
    assert rules.check_name("report.txt") == "report.txt"
    assert rules.check_name("x" * 255) == "x" * 255
    for bad, message in [
        (None, "name is required"),
        ("", "name is required"),
        ("x" * 256, "name must be at most 255 characters"),
        ("a/b", "name must not contain /"),
        ("a\nb", "name must not contain control characters"),
    ]:
        with pytest.raises(Invalid, match=message):
            rules.check_name(bad)


def test_kind_and_sensitivity_default_and_refuse() -> None:
    assert rules.check_kind(None) == "file"
    assert rules.check_kind("patch") == "patch"
    assert rules.check_sensitivity(None) == "normal"
    assert rules.check_sensitivity("secret") == "secret"
    with pytest.raises(Invalid, match="kind must be one of file, patch, log, image, data, other"):
        rules.check_kind("video")
    with pytest.raises(Invalid, match="sensitivity must be one of normal, secret"):
        rules.check_sensitivity("SECRET")


def test_media_type() -> None:
    assert rules.check_media_type(None) == "application/octet-stream"
    assert rules.check_media_type(" ") == "application/octet-stream"
    assert rules.check_media_type("text/plain; charset=utf-8") == "text/plain; charset=utf-8"
    assert rules.check_media_type("application/vnd.a+json") == "application/vnd.a+json"
    for bad in ("text", "text/plain\r\nX-Evil: 1", "a/" + "b" * 300, "/plain"):
        with pytest.raises(Invalid, match="mediaType must be a media type"):
            rules.check_media_type(bad)


def test_expected_sha256() -> None:
    sha = "ab" * 32
    assert rules.check_expected_sha256(None) is None
    assert rules.check_expected_sha256(sha.upper()) == sha
    for bad in ("ab", "zz" * 32, sha + "0"):
        with pytest.raises(Invalid, match="X-Content-SHA256 must be 64 hex digits"):
            rules.check_expected_sha256(bad)


def test_blob_parts() -> None:
    sha = "0123456789abcdef" * 4
    assert rules.blob_parts(sha) == ("01", sha[2:])
    with pytest.raises(ValueError, match="not a sha256"):
        rules.blob_parts("../etc/passwd")


def test_is_collectable_only_unnamed_and_old() -> None:
    assert rules.is_collectable(False, modified_ms=0, now_ms=1000, grace_ms=1000)
    assert not rules.is_collectable(False, modified_ms=1, now_ms=1000, grace_ms=1000)
    assert not rules.is_collectable(True, modified_ms=0, now_ms=10**9, grace_ms=0)


def test_ascii_fallback() -> None:
    assert rules.ascii_fallback("plain.txt") == "plain.txt"
    assert rules.ascii_fallback('a"b\\c;d\u00e9') == "a_b_c_d_"
    assert rules.ascii_fallback("") == "artifact"
