"""ao-skill: print the agent's guide to the ao commands (SKILL.md), or install it.

The guide is ``ao_core/SKILL.md``, shipped in the package, in the format of a Claude Code
skill (YAML front matter with ``name`` and ``description``, then when to use which
command, ``--json``, ``--wait`` and the exit statuses). ``--install`` writes it where
Claude Code looks for a project's skills: ``PROJECT_DIR/.claude/skills/ao/SKILL.md``.
No backend is asked.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from ao_core import cli, console, options
from ao_core.config import Config
from ao_core.errors import StorageError

#: The skill's name (its front matter's ``name``) and the directory it is installed in.
SKILL_NAME = "ao"
#: Where ``--install`` puts it, under the project directory.
INSTALL_PATH = os.path.join(".claude", "skills", SKILL_NAME, "SKILL.md")

#: The examples ending --help and the man page (see ao_core.options).
EXAMPLES = (
    ("ao-skill", "print the guide: which command when, --json, --wait, exit statuses"),
    ("ao-skill --install", "write it to .claude/skills/ao/SKILL.md in the current project"),
    ("ao-skill --install --project-dir ~/shop", "the same, for another project"),
)


def parser() -> argparse.ArgumentParser:
    """The ao-skill parser (also the source of its man page)."""
    p = options.make_parser(
        "ao-skill",
        "Print the agents' guide to the ao commands. It is SKILL.md, a Claude Code skill: "
        "when to use which command, --json, --wait and the exit statuses. With --install, "
        "write it to PROJECT_DIR/.claude/skills/ao/SKILL.md instead and print where.",
        epilog="No backend is asked: the guide is shipped with the commands.",
        json_help='print {"skill", "path", "text"} as JSON ("path": where --install '
        "wrote it, else null)",
        examples=EXAMPLES,
        sessions=False,
    )
    p.add_argument(
        "--install",
        action="store_true",
        help="write the guide to PROJECT_DIR/.claude/skills/ao/SKILL.md (replacing an "
        "older copy) and print its path",
    )
    return p


def text() -> str:
    """The guide, as shipped in the package."""
    from importlib.resources import files  # only this command reads package data

    return files("ao_core").joinpath("SKILL.md").read_text(encoding="utf-8")


def install(project_dir: str, guide: str) -> str:
    """Write ``guide`` to the skill's place under ``project_dir``; its path."""
    path = os.path.join(project_dir, INSTALL_PATH)
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(guide)
    except OSError as exc:
        raise StorageError(f"Cannot write {path}: {exc.strerror or exc}") from None
    return path


def skill(args: argparse.Namespace) -> int:
    guide = text()
    path = None
    if args.install:
        # The project directory as every command finds it (and checks it exists); the
        # empty --backends reads no backend setting: this command asks none.
        config = Config.load(project_dir=args.project_dir, backends="")
        path = install(config.project_path, guide)
    if args.json:
        from ao_core import answers

        document = {"skill": SKILL_NAME, "path": path, "text": guide}
        console.emit(answers.json_text(document))
    elif path is not None:
        console.emit(f"Installed the {SKILL_NAME} skill: {path}")
    else:
        console.emit(guide.rstrip("\n"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return cli.run(skill, parser(), argv)


if __name__ == "__main__":
    raise SystemExit(main())
