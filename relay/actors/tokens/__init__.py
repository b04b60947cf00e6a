"""Token issuing: minting with a record, renewal, revocation and the runner-token re-mint."""

from relay.actors.tokens.install import install
from relay.actors.tokens.issuing import (
    GRACE_MS,
    issue,
    renew,
    revoke,
    token_pruning,
)
from relay.actors.tokens.runner_tokens import (
    INVALID,
    NOT_OWNED,
    NOT_RUNNER,
    RUNNER_PREFIX,
    RUNNER_ROLE,
    TOO_OLD,
    check_remint_caller,
    check_runner_token,
    mint_runner_token,
    remint_runner_token,
    runner_spec,
)

__all__ = [
    "GRACE_MS",
    "INVALID",
    "NOT_OWNED",
    "NOT_RUNNER",
    "RUNNER_PREFIX",
    "RUNNER_ROLE",
    "TOO_OLD",
    "check_remint_caller",
    "check_runner_token",
    "install",
    "issue",
    "mint_runner_token",
    "remint_runner_token",
    "renew",
    "revoke",
    "runner_spec",
    "token_pruning",
]
