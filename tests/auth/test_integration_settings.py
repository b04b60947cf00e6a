"""``RELAY_INTEGRATION_TOKENS`` is a JSON list read from the environment."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from relay.settings import IntegrationToken, Settings


def test_integration_tokens_parse_from_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "RELAY_INTEGRATION_TOKENS",
        '[{"name": "ci", "token": "ci-token-0123456789", "scopes": ["agent:read"],'
        ' "perMinute": 5}, {"name": "grafana", "token": "grafana-token-0123"}]',
    )
    assert Settings().integration_tokens == [
        IntegrationToken(
            name="ci", token="ci-token-0123456789", scopes=("agent:read",), per_minute=5
        ),
        IntegrationToken(name="grafana", token="grafana-token-0123", scopes=(), per_minute=60),
    ]


def test_integration_token_is_not_shown_in_repr() -> None:
    token = IntegrationToken(name="ci", token="ci-token-0123456789")
    assert "ci-token-0123456789" not in repr(token)


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "ci", "token": "short", "scopes": []},
        {"name": "ci", "token": "ci-token-0123456789", "scopes": ["agent:delete"]},
        {"name": "ci", "token": "ci-token-0123456789", "perMinute": 0},
        {"name": "", "token": "ci-token-0123456789"},
    ],
)
def test_bad_integration_tokens_are_refused(entry: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        IntegrationToken.model_validate(entry)
