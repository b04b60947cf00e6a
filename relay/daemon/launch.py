"""``python -m relay.daemon.launch SPEC``: what a tmux session runs to start a provider.

The spec file (mode 0600, written by the daemon) holds the argv, cwd and
environment, so no credential appears on a command line. The launcher moves to
the cwd, deletes the spec (the daemon waits for that: the session has started),
and the provider replaces this process (same pid, no shell in between). A failure
before that is written to ``SPEC.error`` for the daemon to report.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m relay.daemon.launch SPEC_FILE", file=sys.stderr)
        return 2
    spec_path = Path(argv[1])
    spec = json.loads(spec_path.read_text())
    command: list[str] = spec["argv"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("RELAY_")}
    env.update(spec["env"])
    try:
        os.chdir(spec["cwd"])
    except OSError as exc:
        return _failed(spec_path, f"cannot enter {spec['cwd']}: {exc.strerror}")
    program = _program(command[0], env)
    if program is None:
        return _failed(spec_path, f"cannot start {command[0]}: not an executable file")
    # The daemon takes the spec's disappearance as "started": from here only exec is left.
    spec_path.unlink()
    try:
        os.execvpe(command[0], command, env)  # noqa: S606 - the provider's argv, no shell
    except OSError as exc:
        return _failed(spec_path, f"cannot start {command[0]}: {exc.strerror}")


def _program(name: str, env: dict[str, str]) -> str | None:
    path = name if os.sep in name else shutil.which(name, path=env.get("PATH"))
    if path is None or not os.path.isfile(path) or not os.access(path, os.X_OK):
        return None
    return path


def _failed(spec_path: Path, message: str) -> int:
    print(f"relay: {message}", file=sys.stderr)
    error_path = spec_path.with_name(spec_path.name + ".error")
    error_path.write_text(message)
    spec_path.unlink(missing_ok=True)
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
