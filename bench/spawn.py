"""bench.py's launcher: runs each command it is sent and reports its time, CPU and peak memory.

    {"command": [...], "env": {...}} on a line of stdin -> {"code", "seconds", "rss_mb", "cpu",
    "system_cpu", "stdout", "stderr"} on a line of stdout

Why a process of its own: Linux keeps a child's peak RSS (`ru_maxrss`) across exec from the
memory it was forked from, so a command started by bench.py itself, which holds the fake's worlds
and images, would be charged bench.py's size. Started first, this launcher stays small, and
the commands it forks are charged only their own memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time


def run(command: list[str], env: dict[str, str]) -> dict[str, object]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        errors.seek(0)
        return {
            "code": os.waitstatus_to_exitcode(status),
            "seconds": seconds,
            "rss_mb": usage.ru_maxrss / 1024,
            "cpu": usage.ru_utime + usage.ru_stime,
            "system_cpu": usage.ru_stime,
            "stdout": out.read().decode(errors="replace"),
            "stderr": errors.read().decode(errors="replace"),
        }


def main() -> None:
    for line in sys.stdin:
        asked = json.loads(line)
        print(json.dumps(run(asked["command"], asked["env"])), flush=True)


if __name__ == "__main__":
    main()
