"""Reading rendered man pages and ``--help`` output as the tests compare them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

#: Wide enough that man never breaks (or hyphenates) a line, so text compares word for word.
WIDE = "1000"


def man_text(page: Path, env: dict[str, str] | None = None) -> str:
    """``page`` as ``man -l`` shows it: plain text, one line per paragraph."""
    proc = subprocess.run(
        ["man", "-l", str(page)],
        capture_output=True,
        text=True,
        env={**(env or os.environ), "MANWIDTH": WIDE},
        check=True,
        timeout=60,
    )
    return proc.stdout


def section(text: str, heading: str) -> str:
    """The body of ``heading`` in man's plain-text output (up to the next heading)."""
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next(
        (i for i in range(start, len(lines)) if lines[i] and not lines[i][0].isspace()),
        len(lines),
    )
    return "\n".join(lines[start:end])


def headings(text: str) -> list[str]:
    """Every section heading of a page, in order (the header and footer lines excluded)."""
    lines = [line for line in text.splitlines() if line and not line[0].isspace()]
    return lines[1:-1]


def help_block(help_text: str, title: str) -> str:
    """The lines of an argparse ``--help`` block such as ``options:``, up to its blank line."""
    lines = help_text.splitlines()
    start = lines.index(title) + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[start:end])


def words(text: str) -> list[str]:
    """``text`` as a list of words: layout (indentation, line breaks) left out."""
    return text.split()


def entries(body: str) -> dict[str, str]:
    """A man section of tagged paragraphs as {tag: text}, e.g. ENVIRONMENT's variables."""
    found: dict[str, str] = {}
    tag = None
    for line in body.splitlines():
        indent = len(line) - len(line.lstrip())
        if indent == 7:
            tag = line.strip()
            found[tag] = ""
        elif indent > 7 and tag is not None:
            found[tag] = f"{found[tag]} {line.strip()}".strip()
    return found
