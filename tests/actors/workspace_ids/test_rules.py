"""Workspace id rules: one id, one repository."""

from __future__ import annotations

import pytest

from relay.actors.workspace_ids import rules
from relay.errors import Conflict


def test_a_free_id_is_claimed() -> None:
    assert rules.claim("w1", None, "/r/a") == "claimed"


def test_an_id_of_the_same_repository_is_already_ours() -> None:
    assert rules.claim("w1", "/r/a", "/r/a") == "already-ours"


def test_an_id_of_another_repository_is_a_conflict() -> None:
    with pytest.raises(Conflict) as refused:
        rules.claim("w1", "/r/a", "/r/b")
    assert refused.value.status == 409
    assert refused.value.message == "workspace w1 already exists for another repository"


@pytest.mark.parametrize(
    ("owner", "releaser", "freed"),
    [("/r/a", "/r/a", True), ("/r/a", "/r/b", False), (None, "/r/a", False)],
)
def test_only_the_holder_frees_an_id(owner: str | None, releaser: str, freed: bool) -> None:
    assert rules.released(owner, releaser) is freed
