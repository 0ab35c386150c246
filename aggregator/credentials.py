"""Secrets handed over as systemd credentials: a file named like the environment variable.

A unit with `LoadCredential=YOUTUBE_API_KEY:/etc/showcase/credentials/YOUTUBE_API_KEY` gives the
service `$CREDENTIALS_DIRECTORY/YOUTUBE_API_KEY`, a file only that service can read. Read as if
it were the variable, it keeps secrets out of the unit file, the process environment (which
`systemctl show` and /proc reveal) and any shell wrapper. A variable that is set wins.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

CREDENTIALS_VARIABLE = "CREDENTIALS_DIRECTORY"
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def environment_with_credentials(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` plus one entry per credential file, for the variables `environ` leaves unset."""
    folder = environ.get(CREDENTIALS_VARIABLE)
    merged = dict(environ)
    if not folder:
        return merged
    for name, value in read_credentials(Path(folder)).items():
        if not merged.get(name):
            merged[name] = value
    return merged


def read_credentials(folder: Path) -> dict[str, str]:
    """Every readable credential whose name can be a variable's; whitespace around it dropped
    (a key pasted with `echo` ends in a newline)."""
    found = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return {}
    for path in entries:
        if not _VARIABLE_NAME.fullmatch(path.name) or not path.is_file():
            continue
        try:
            found[path.name] = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            continue
    return found
