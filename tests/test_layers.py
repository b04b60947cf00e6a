"""The package layering of ARCHITECTURE.md, checked by import-linter's contracts in pyproject."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# In a child process: import-linter configures logging when it runs, which disabled the
# relay loggers for every test after this one in the same process (their log checks
# then failed, depending on the order the tests ran in).
LINT = (
    "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
)


def test_the_import_contracts_are_kept() -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"an import breaks a layer: run `lint-imports`\n{result.stdout}"
