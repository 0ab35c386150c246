"""`[output] publish_command`: hand the rendered folder on, say to a web server on another host.

The command runs after each render, once every file is in place (each written atomically), so
a copy made by it is never half old, half new. It runs:

- without a shell: the words of the config are the program and its arguments, so a path with
  a space or a `;` in it is never a second command (pipes, `&&` and `$VARIABLES` take an
  explicit `sh -c '...'`);
- from the config file's folder (relative paths in the command mean what they mean in the
  config), with `SHOWCASE_OUTPUT` set to the output folder and without the environment
  variables that hold the sources' secrets: publishing needs none of them;
- in a session of its own, stopped with its children after `TIMEOUT_SECONDS` (under `update`
  sooner, when less is left of its two minutes), so a hanging ssh never holds a cron slot;
- with its output captured: quiet on success (cron mail stays empty), and its last line
  quoted in the one-line error when it fails.

Library code: it raises PublishError, the command line turns that into one line and exit 1.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.config import Config
from aggregator.errors import ShowcaseError, redact

if TYPE_CHECKING:
    from aggregator.jobs import FetchOutcome

TIMEOUT_SECONDS = 60.0
SHOWN_COMMAND_CHARS = 80
SHOWN_OUTPUT_CHARS = 200


class PublishError(ShowcaseError):
    """The publish command failed; the rendered files are in place. Exit code 1.

    `outcomes` carries the fetch outcomes of the `update` it ended, so that their errors are
    still reported."""

    def __init__(self, message: str):
        super().__init__(redact(message))
        self.outcomes: list[FetchOutcome] = []


def publish(config: Config, timeout: float = TIMEOUT_SECONDS) -> None:
    """Run the configured publish command, if any; raise PublishError when it fails."""
    argv = config.publish_command
    if not argv:
        return
    folder = config.path.resolve().parent if config.path else Path.cwd()
    shown = _shown(argv)
    kept = f"the rendered files in {config.output_dir} are kept"
    try:
        process = subprocess.Popen(
            list(argv),
            cwd=folder,
            env=publish_environment(config, os.environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise PublishError(f"publish: {argv[0]}: command not found; {kept}") from None
    except OSError as error:
        raise PublishError(f"publish: {argv[0]}: {error.strerror}; {kept}") from None
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_session(process)
        raise PublishError(
            f"publish: `{shown}` did not finish within {timeout:g}s and was stopped; {kept}"
        ) from None
    if process.returncode != 0:
        raise PublishError(
            f"publish: `{shown}` {_status(process.returncode)}{_last_line(output)}; {kept}"
        )


def publish_environment(config: Config, environ: Mapping[str, str]) -> dict[str, str]:
    """The scheduler's environment without the sources' secrets, with SHOWCASE_OUTPUT."""
    secret_names = {
        name
        for name in (
            config.youtube.api_key_env if config.youtube else None,
            config.facebook.access_token_env if config.facebook else None,
            config.facebook.app_secret_env if config.facebook else None,
        )
        if name
    }
    env = {name: value for name, value in environ.items() if name not in secret_names}
    env["SHOWCASE_OUTPUT"] = str(config.output_dir.resolve())
    return env


def _stop_session(process: subprocess.Popen[bytes]) -> None:
    """Kill the command and everything it started (ssh under rsync, say)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _status(returncode: int) -> str:
    if returncode < 0:
        return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _shown(argv: Sequence[str]) -> str:
    text = shlex.join(argv)
    if len(text) > SHOWN_COMMAND_CHARS:
        return text[: SHOWN_COMMAND_CHARS - 1] + "…"
    return text


def _last_line(output: bytes) -> str:
    lines = [line.strip() for line in output.decode(errors="replace").splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    if len(line) > SHOWN_OUTPUT_CHARS:
        line = line[: SHOWN_OUTPUT_CHARS - 1] + "…"
    return f": {line}"
