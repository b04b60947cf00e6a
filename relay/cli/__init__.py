"""The ``relay`` command: ``relay serve``, ``relay status``, ``relay orchestrator``,
``relay token …``, ``relay mcp-config``. One module per command: importing one registers it
on ``cli``."""

from relay.cli import mcp_config, orchestrator, serve, status, tokens  # noqa: F401  (registers)
from relay.cli.app import cli
from relay.cli.status import format_cluster

__all__ = ["cli", "format_cluster", "main"]


def main() -> None:
    cli()
