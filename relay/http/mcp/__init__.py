"""The MCP endpoint: ``POST /mcp`` (stateless streamable HTTP) and the tools it serves."""
