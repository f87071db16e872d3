"""ao-mcp: serve every ao command as a tool an AI agent calls over MCP (stdio)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ao_core import cli, options
from ao_core.errors import AoError
from ao_core.mcp import DEFAULT_WAIT

#: What to install when the MCP SDK is missing (the ``mcp`` extra pins its major version).
INSTALL = "pip install 'ao-sessions[mcp]'"


class MissingSdk(AoError):
    """The MCP SDK is not installed."""

    code = "missing_dependency"


#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("claude mcp add ao -- ao mcp", "let Claude Code call every command as a tool"),
    (
        "codex mcp add ao -- ao mcp --backends api,file",
        "the same for Codex, asking only the server and the files",
    ),
)


def parser() -> argparse.ArgumentParser:
    """The ao-mcp parser (also the source of its man page)."""
    return options.make_parser(
        "ao-mcp",
        "Serve the ao commands as tools for AI agents (MCP). Standard input and output "
        "carry the Model Context Protocol; the tools are status, get_result, list_sessions, "
        "wait, start, resume, stop, clean, list_blueprints, show_config and plugins. An agent "
        "host starts it (claude mcp add ao -- ao mcp); it runs until the host closes its "
        "input.",
        epilog="The options and settings are those of every command, fixed for the server's "
        f"life. It needs the MCP SDK: {INSTALL}. Tools that wait return within "
        f"{DEFAULT_WAIT:g} s by default, saying whether the sessions have ended. See "
        "docs/mcp.md.",
        examples=EXAMPLES,
    )


def mcp(args: argparse.Namespace) -> int:
    cli.start(args)  # a bad setting or selection is an error now, not at every tool call
    try:
        from ao_core.mcp import server
    except ImportError as exc:
        raise MissingSdk(f"ao mcp needs the MCP SDK ({exc.name} is missing): {INSTALL}") from None
    server.serve(args)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(mcp, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
