"""The wheel installed into a fresh virtual environment, as a user would get it.

The wheel is built once (``built_wheel``); the venv once per module: ``python -m venv
--without-pip``, then this environment's pip installs the wheel into it (``pip --python``,
offline, no dependencies), then a .pth file lends it this environment's pluggy and
requests.
Then: the console scripts run, the man pages and completions are under the venv's
``share/``, the licence is in the dist-info, ``py.typed`` in the package, and each shell
completes from the installed files when told where the venv is.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

import pytest
from backup_files import BackupDir
from conftest import clean_environ
from shell_completion import SHELLS, completed
from trove_classifiers import classifiers as known_classifiers

from ao_core.commands import COMMANDS
from ao_core.commands import ao as ao_command
from ao_core.version import DISTRIBUTION, __version__

pytestmark = pytest.mark.slow  # pytest -m 'not slow' leaves these out

try:
    import tomllib
except ImportError:  # Python 3.10: pytest brings tomli
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
#: What the installed commands import besides the wheel: its dependencies and theirs.
DEPENDENCIES = ("pluggy", "requests", "urllib3", "idna", "charset_normalizer", "certifi")
SHARE_DIRS = {
    "bash": ("share/bash-completion/completions", "bash"),
    "zsh": ("share/zsh/site-functions", "zsh"),
    "fish": ("share/fish/vendor_completions.d", "fish"),
}


@dataclass
class Venv:
    root: Path
    bin: Path
    site: Path
    dist_info: Path

    def run(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run one of the venv's programs, with a clean environment plus ``env``.

        In the venv's directory: in the source tree, ``python -c`` would import ao_core
        from there.
        """
        return subprocess.run(
            [str(self.bin / argv[0]), *argv[1:]],
            cwd=self.root,
            capture_output=True,
            text=True,
            env=clean_environ(**(env or {})),
            timeout=60,
        )


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    root = tmp_path_factory.mktemp("packaged") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True, timeout=120)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip()
    )  # fmt: skip
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps",
         "--no-index", "--disable-pip-version-check", wheel],
        capture_output=True, text=True, timeout=300, env=clean_environ(PIP_NO_INPUT="1"),
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    # Lent after installing: the directory may hold this project too (a non-editable
    # install, as in CI), which pip would take as already installed. At run time the
    # venv's own site-packages comes first (test_the_venv_runs_the_wheels_code).
    lent = {
        str(Path(importlib.util.find_spec(name).origin).resolve().parent.parent)
        for name in DEPENDENCIES
    }
    (site / "ao-test-dependencies.pth").write_text("\n".join(sorted(lent)) + "\n")
    dist_info = site / f"{DISTRIBUTION.replace('-', '_')}-{__version__}.dist-info"
    return Venv(root, root / "bin", site, dist_info)


def test_the_venv_runs_the_wheels_code(venv: Venv) -> None:
    proc = venv.run("python", "-c", "import ao_core; print(ao_core.__file__)")
    assert proc.stdout.strip() == str(venv.site / "ao_core" / "__init__.py"), proc.stderr


@pytest.mark.parametrize("script", sorted(ao_command.scripts()))
def test_each_console_script_runs(venv: Venv, script: str) -> None:
    assert (venv.bin / script).is_file()
    proc = venv.run(script, "--version")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, f"{script} {__version__}\n", "")


def test_ao_lists_its_commands_and_runs_them(venv: Venv) -> None:
    helped = venv.run("ao", "--help")
    assert helped.returncode == 0
    for name in COMMANDS:
        assert f"\n  {name.removeprefix('ao-')} " in helped.stdout
    settings = {"AGENT_ORCHESTRATOR_BACKENDS": "file"}
    args = ["--sessions-dir", str(ROOT / "examples" / "sessions"), "architect"]
    assert venv.run("ao", "status", *args, env=settings).stdout == "finished\n"
    assert venv.run("ao-status", *args, env=settings).stdout == "finished\n"
    module = venv.run("python", "-m", "ao_core", "--version")
    assert module.stdout == f"ao {__version__}\n"


def test_man_pages_are_under_share_man(venv: Venv) -> None:
    installed = venv.root / "share" / "man" / "man1"
    pages = sorted(f"{script}.1" for script in ao_command.scripts())
    assert sorted(p.name for p in installed.iterdir()) == pages
    for page in pages:
        assert (installed / page).read_bytes() == (ROOT / "man" / page).read_bytes()


@pytest.mark.parametrize("shell", SHELLS)
def test_completions_are_where_each_shell_looks(venv: Venv, shell: str) -> None:
    share, source = SHARE_DIRS[shell]
    installed = {p.name: p.read_bytes() for p in (venv.root / share).iterdir()}
    committed = {p.name: p.read_bytes() for p in (ROOT / "completions" / source).iterdir()}
    assert installed == committed and len(installed) == len(ao_command.scripts())


@pytest.mark.parametrize("shell", SHELLS)
def test_each_shell_completes_from_the_installed_files(
    venv: Venv, shell: str, backups: BackupDir, tmp_path: Path
) -> None:
    """Found the documented way: XDG_DATA_DIRS (bash-completion, fish), fpath (zsh)."""
    backups.finished("alpha")
    home = tmp_path / "home"
    home.mkdir()
    env = clean_environ(
        AGENT_ORCHESTRATOR_PROJECT_DIR=str(backups.path.parent.parent),
        AGENT_ORCHESTRATOR_BACKENDS="file",
        HOME=str(home),
        PATH=f"{venv.bin}{os.pathsep}{os.environ['PATH']}",
    )
    for variable in ("XDG_DATA_DIRS", "XDG_DATA_HOME", "XDG_CONFIG_HOME"):
        env.pop(variable, None)
    assert completed(shell, "ao-status ", env, tmp_path, prefix=venv.root) == {"alpha"}
    assert completed(shell, "ao ", env, tmp_path, prefix=venv.root) == {
        name.removeprefix("ao-") for name in COMMANDS
    }


def test_the_licence_is_in_the_dist_info(venv: Venv) -> None:
    assert (venv.dist_info / "licenses" / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    assert "Copyright (c) 2026 the ao authors" in (ROOT / "LICENSE").read_text()
    metadata = Parser().parsestr((venv.dist_info / "METADATA").read_text())
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]


def test_the_classifiers_are_known_and_shipped(venv: Venv) -> None:
    with open(ROOT / "pyproject.toml", "rb") as f:
        declared = tomllib.load(f)["project"]["classifiers"]
    assert declared and set(declared) <= known_classifiers
    assert not [c for c in declared if c.startswith("License ::")]  # the SPDX expression says it
    metadata = Parser().parsestr((venv.dist_info / "METADATA").read_text())
    assert metadata.get_all("Classifier") == declared


def test_the_package_is_marked_typed(venv: Venv) -> None:
    assert (venv.site / "ao_core" / "py.typed").is_file()
    assert "ao_core/py.typed," in (venv.dist_info / "RECORD").read_text()


#: What a command on the backup files does not import, since it does not use it: the
#: entry points are found without importlib.metadata (and its email, zipfile, csv ...),
#: paths are strings (no pathlib), argparse's formatter asks for the terminal's width only
#: to format help (no shutil, zlib, bz2, lzma), and what only a wait, a trace or the api
#: backend needs comes with them; nor ao mcp's SDK (mcp, pydantic, anyio, jsonschema).
NOT_IMPORTED = (
    "importlib.metadata", "email", "zipfile", "csv", "textwrap", "pathlib", "urllib.parse",
    "ipaddress", "shutil", "zlib", "bz2", "lzma", "tempfile", "math", "socket", "threading",
    "difflib", "requests", "ao_plugins.api", "ao_core.tracing", "ao_core.waiting",
    "ao_core.runner", "ao_core.mcp", "ao_core.schemas", "mcp", "mcp_types", "pydantic",
    "anyio", "jsonschema",
)  # fmt: skip
PROBE = """\
import json, sys
from {module} import main
status = main({args!r})
print(json.dumps([status, sorted(sys.modules)]), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("argv", "answer"),
    [
        (["ao-status", "architect"], "finished"),
        (["ao-get-result", "reviewer"], ""),
        (["ao-list-sessions"], "architect (session-id: "),
    ],
)
def test_a_command_on_the_files_imports_only_what_it_uses(
    venv: Venv, argv: list[str], answer: str
) -> None:
    """Its module and ``main``, as the console script runs them, in the installed wheel:
    which modules are loaded once it answered (a sys.modules check, no timing)."""
    settings = {
        "AGENT_ORCHESTRATOR_BACKENDS": "file",
        "AGENT_ORCHESTRATOR_SESSIONS_DIR": str(ROOT / "examples" / "sessions"),
    }
    probe = PROBE.format(module=COMMANDS[argv[0]], args=argv[1:])
    proc = venv.run("python", "-c", probe, env=settings)
    status, loaded = json.loads(proc.stderr.splitlines()[-1])
    assert proc.stdout.startswith(answer) and status == (0 if answer else 1), proc.stderr
    assert {"pluggy", "ao_core.entrypoints", "ao_plugins.file"} <= set(loaded)
    assert [name for name in NOT_IMPORTED if name in loaded] == []


def test_the_agents_guide_is_package_data(venv: Venv) -> None:
    """``ao skill`` in the installed wheel prints the guide it ships (not the source tree's)."""
    shipped = venv.site / "ao_core" / "SKILL.md"
    assert shipped.read_bytes() == (ROOT / "ao_core" / "SKILL.md").read_bytes()
    proc = venv.run("ao", "skill")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, shipped.read_text(), "")
