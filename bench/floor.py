"""The floor: the least any ao-status / ao-list-sessions on this stack must do.

Import pluggy and look up the ``ao.plugins`` entry points with importlib.metadata (the
design requires discovery), then do the one job with nothing else around it:

    floor.py api URL NAME     import requests, list sessions, find the id, fetch the status
    floor.py file DIR NAME    read NAME.meta.json and the last line of NAME.jsonl
    floor.py list DIR         read every *.meta.json and print one line per session

``floor.py --bare MODE ...`` leaves the entry-point lookup out: Python, ``import pluggy``
and the job, the price of the design itself.
"""

import json
import os
import sys

import pluggy  # noqa: F401  (the floor pays for the plugin framework's import)

bare = sys.argv[1:2] == ["--bare"]
if not bare:
    from importlib.metadata import entry_points

    entry_points(group="ao.plugins")
mode, *args = sys.argv[2 if bare else 1 :]

if mode == "api":
    import requests

    url, name = args
    with requests.Session() as http:
        sessions = http.get(f"{url}/sessions", timeout=5).json()["sessions"]
        sid = next(s["session_id"] for s in sessions if s["session_name"] == name)
        print(http.get(f"{url}/sessions/{sid}/status", timeout=5).json()["status"])
elif mode == "file":
    directory, name = args
    with open(os.path.join(directory, name + ".meta.json"), "rb") as f:
        json.load(f)
    with open(os.path.join(directory, name + ".jsonl"), "rb") as f:
        end = f.seek(0, os.SEEK_END)
        tail = b""
        while end > 0 and b"\n" not in tail.rstrip(b"\n"):
            start = max(0, end - 65536)
            f.seek(start)
            tail = f.read(end - start) + tail
            end = start
    last = json.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    print("finished" if last.get("subtype") == "success" else "running")
elif mode == "list":
    (directory,) = args
    lines = []
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(".meta.json"):
            with open(os.path.join(directory, entry), "rb") as f:
                meta = json.load(f)
            lines.append(
                f"{entry[:-10]} (session-id: {meta.get('session_id', 'unknown')}, "
                f"project-dir: {meta.get('project_dir', 'unknown')})"
            )
    print("\n".join(lines))
else:
    sys.exit(f"unknown floor mode {mode!r}")
