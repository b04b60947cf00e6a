"""``relay orchestrator``: the host daemon that carries out the relay's commands.

It registers with a relay, keeps the command channel (WebSocket, long-poll as the
fallback), and runs each command exactly once on the host (a local journal) with
real ``git`` worktrees and ``tmux`` sessions, inside its base dir only.
"""

from relay.daemon.config import DaemonSettings
from relay.daemon.daemon import Daemon, run, serve
from relay.daemon.presence import DaemonError

__all__ = ["Daemon", "DaemonError", "DaemonSettings", "run", "serve"]
