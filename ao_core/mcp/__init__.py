"""``ao mcp``: every ao command as a tool an AI agent calls over the Model Context Protocol.

:mod:`ao_core.mcp.tools` says what the tools are and does their work with the core's own
functions; :mod:`ao_core.mcp.server` serves them over stdio with the MCP SDK, imported
only there.
"""

#: Seconds a tool that waits waits by default: less than the usual tool time limit of the
#: agent hosts (about 60 s), so the host gets an answer ("not ended yet": ask again).
DEFAULT_WAIT = 50.0
