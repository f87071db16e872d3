"""Plugins of the tests' own, installed for real without pip: a module and a ``.dist-info``
directory (``METADATA`` and ``entry_points.txt`` in the ``ao.plugins`` group) written into
a directory that a command is given on ``PYTHONPATH``. ``importlib.metadata`` finds the
distribution there as it finds any installed one, so the commands discover, order, load
and guard these backends exactly as they would a published plugin.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

#: The distribution the plugins come in (as warnings name it).
DISTRIBUTION = "ao-hostile-plugins"
VERSION = "6.6.6"


def install(directory: Path, plugins: dict[str, str]) -> dict[str, str]:
    """Write one module per plugin (``name`` -> source; the entry point is the module's
    ``Backend`` attribute if the source defines one, else the module) into ``directory``
    and the distribution declaring them; the environment that makes a command see them."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, source in plugins.items():
        module = f"ao_hostile_{name}"
        (directory / f"{module}.py").write_text(textwrap.dedent(source))
        target = f"{module}:Backend" if "class Backend" in source else module
        lines.append(f"{name} = {target}")
    info = directory / f"{DISTRIBUTION.replace('-', '_')}-{VERSION}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {DISTRIBUTION}\nVersion: {VERSION}\n"
    )
    (info / "entry_points.txt").write_text("[ao.plugins]\n" + "\n".join(lines) + "\n")
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": f"{directory}{os.pathsep}{path}" if path else str(directory)}
