"""`showcase staff add NAME | remove NAME | list`: the accounts of `serve --staff`.

`add` asks for the password twice on a terminal (without echo) and reads one line from
standard input otherwise (the contract), so that a script can pipe it in; it never takes the
password as an argument, where `ps` and the shell's history would show it. Each change says
in one line what it did and is written to the audit log. The accounts work whether or not
`[staff]` is configured; `add` says when it is not, as `serve --staff` needs it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from aggregator import actions, jobs, staff, store
from aggregator.config import Config
from aggregator.errors import UsageError
from aggregator.times import shown_time


def run(args: argparse.Namespace, config: Config, now: datetime | None = None) -> int:
    moment = now or datetime.now(UTC)
    if args.staff_command == "add":
        staff.check_name(args.name)
        password = read_password(args.name)
    engine = jobs.open_database(config)
    try:
        with store.session_scope(engine) as session:
            if args.staff_command == "add":
                print(_add(session, config, args.name, password, moment))
            elif args.staff_command == "remove":
                print(_remove(session, args.name, moment))
            else:
                print("\n".join(_list(session, config)))
    finally:
        engine.dispose()
    return 0


def read_password(name: str) -> str:
    """Twice without echo on a terminal; else one line of standard input (its line end
    dropped, nothing else: spaces may belong to the password)."""
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same again: ") != first:
            raise UsageError("staff add: the two passwords differ; nothing changed")
        return first
    line = sys.stdin.readline()
    if not line:
        raise UsageError("staff add: no password on standard input (one line expected)")
    return line.removesuffix("\n").removesuffix("\r")


def _add(session: Session, config: Config, name: str, password: str, now: datetime) -> str:
    new = staff.add_account(session, name, password, now)
    before, after = ("–", "account") if new else ("account", "new password")
    store.add_audit_row(
        session, now, actions.command_line_actor(), "staff add", name, before, after
    )
    done = f"{name} can log in now" if new else f"{name}'s password changed, open sessions ended"
    if config.staff is None:
        done += "; `serve --staff` needs a [staff] table in the config, which has none"
    return f"staff add: {done}"


def _remove(session: Session, name: str, now: datetime) -> str:
    if not staff.remove_account(session, name):
        known = [account.name for account in staff.accounts(session)]
        hint = f"known: {', '.join(known)}" if known else "there are no accounts yet"
        raise UsageError(f"staff remove: no account named {name!r} ({hint})")
    actor = actions.command_line_actor()
    store.add_audit_row(session, now, actor, "staff remove", name, "account", "–")
    return f"staff remove: {name} removed, and logged out"


def _list(session: Session, config: Config) -> list[str]:
    accounts = staff.accounts(session)
    if not accounts:
        return ["staff list: no accounts (add one with `showcase staff add NAME`)"]
    zone = ZoneInfo(config.showcase.timezone)
    width = max(len("name"), *(len(account.name) for account in accounts))
    lines = [f"{'name'.ljust(width)}  created"]
    lines.extend(
        f"{account.name.ljust(width)}  {shown_time(account.created_at, zone)}"
        for account in accounts
    )
    return lines
