"""``python -m ao_core``: the ``ao`` command, for an environment whose scripts are not on PATH."""

from ao_core.commands.ao import main

if __name__ == "__main__":
    raise SystemExit(main())
