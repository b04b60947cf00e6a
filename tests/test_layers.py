"""The package layering of ARCHITECTURE.md, checked by import-linter's contracts in pyproject."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # where pyproject.toml holds the contracts
    assert lint_imports(no_cache=True) == 0, "an import breaks a layer: run `lint-imports`"
