"""One module per ao-* command: ``parser()`` builds its argparse parser, ``main()`` runs it."""

#: Every ao-* command and the module holding its ``parser()`` and ``main()``. The one list
#: that the console scripts (pyproject), the man pages and the tests must all agree with.
#: Strings only: importing this must not import the commands. Each module also holds its
#: ``EXAMPLES`` (see :mod:`ao_core.options`). Every command but ``ao-skill`` (which asks
#: no backend) takes the session options.
COMMANDS = {
    "ao-status": "ao_core.commands.status",
    "ao-get-result": "ao_core.commands.get_result",
    "ao-list-sessions": "ao_core.commands.list_sessions",
    "ao-clean": "ao_core.commands.clean",
    "ao-start": "ao_core.commands.start",
    "ao-resume": "ao_core.commands.resume",
    "ao-stop": "ao_core.commands.stop",
    "ao-list-blueprints": "ao_core.commands.list_blueprints",
    "ao-show-config": "ao_core.commands.show_config",
    "ao-logs": "ao_core.commands.logs",
    "ao-plugins": "ao_core.commands.plugins",
    "ao-skill": "ao_core.commands.skill",
    "ao-mcp": "ao_core.commands.mcp",
}
