"""``ao mcp``: every ao command as a tool an AI agent calls over the Model Context Protocol.

:mod:`ao_core.mcp.tools` says what the tools are and does their work with the core's own
functions; :mod:`ao_core.mcp.server` serves them over stdio with the MCP SDK, imported
only there.
"""
