"""A send's input checks and who a reply goes to."""

from __future__ import annotations

from typing import Any

import pytest

from relay.actors.messaging.rules import check_send, other_party
from relay.errors import Invalid


def check(**fields: Any) -> None:
    base: dict[str, Any] = {
        "to": "a2",
        "channel_id": None,
        "reply_to": None,
        "body": "x",
        "client_message_id": None,
        "importance": "normal",
        "attachments": [],
        "ttl_seconds": 60,
        "max_attempts": 1,
    }
    check_send(**{**base, **fields})


def test_a_plain_send_passes() -> None:
    check()
    check(to=None, reply_to="msg_1")
    check(body="x" * 65_536, ttl_seconds=2_592_000, max_attempts=20, client_message_id="a" * 128)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"to": None}, "exactly one of to, channelId is required"),
        ({"channel_id": "c"}, "exactly one of to, channelId is required"),
        ({"body": "x" * 65_537}, "body must be at most 65536 bytes"),
        ({"client_message_id": "a" * 129}, "clientMessageId must be 1..128 of A-Z a-z 0-9 . _ : -"),
        ({"ttl_seconds": 2_592_001}, "ttlSeconds must be between 60 and 2592000"),
        ({"max_attempts": 0}, "maxAttempts must be between 1 and 20"),
    ],
)
def test_bad_input_is_refused(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(Invalid, match=error):
        check(**fields)


def test_a_reply_goes_to_the_other_party() -> None:
    assert other_party("a2", "a1", "a2") == "a1"
    assert other_party("a1", "a1", "a2") == "a2"
    assert other_party("a3", "a1", "a2") == "a1"
