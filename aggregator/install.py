"""`showcase install systemd|cron`: lay out config, state, output and secrets for a service.

The layout, under a root (`/`, or a folder to try it in):

    /etc/showcase/                  0750 root:GROUP    the service and staff read the config
      showcase.toml                 0640 root:GROUP    never world-readable
      credentials/                  0700 root:root     systemd: LoadCredential= sources
        YOUTUBE_API_KEY, ...        0600 root:root     one file per variable the config names
      showcase.env                  0640 root:GROUP    cron: `export NAME='...'` lines
    /var/lib/showcase/              2770 USER:GROUP    database, its lock (setgid: staff's
      showcase.db, showcase.db.lock 0660 USER:GROUP      -wal/-shm files keep the group)
    /var/www/showcase/              2775 USER:GROUP    the page, world-readable for the web server
    /etc/systemd/system/showcase-*  0644               or /etc/cron.d/showcase (0644)

A static system user runs the service rather than systemd's DynamicUser=: a dynamic user's
state lives under /var/lib/private (0700) with a changing uid, which no group of people can
share; staff are simply added to the group. Rerunning keeps the config and the secrets as they
are and sets the modes again. Under a root other than `/` no account is created: the user and
group are looked up on this host, else the current ones are used (said in the report).
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from aggregator.config import Config, config_from_dict
from aggregator.errors import ConfigError, UsageError

KINDS = ("systemd", "cron")
SYSTEMD_UNITS = ("showcase-update.service", "showcase-update.timer", "showcase-schedule.service")
CRON_FILE = "crontab"
DEFAULT_USER = "showcase"
DEFAULT_GROUP = "showcase"
DEFAULT_OUTPUT = Path("/var/www/showcase")
OUTPUT_SUBFOLDERS = ("thumbs", "badges")  # made now, so staff's first render cannot own them

# The paths written in the shipped job files; an install replaces them with its own.
_SHIPPED_PROGRAM = "/opt/showcase/.venv/bin/showcase"
_SHIPPED_PATHS = ("/etc/showcase", "/var/lib/showcase")
_REPO_JOBS = Path(__file__).resolve().parent.parent / "jobs"
_LOAD_CREDENTIALS = re.compile(r"(?:^LoadCredential=.*\n)+", re.MULTILINE)
_CRON_USER = re.compile(r"^(#? ?[\d*@]\S*\s+(?:\S+\s+){4})showcase(\s)", re.MULTILINE)


@dataclass(frozen=True)
class Layout:
    """Where everything goes; every path is already under the root."""

    root: Path
    output: Path

    @classmethod
    def under(cls, root: Path, output: Path = DEFAULT_OUTPUT) -> Layout:
        root = root.resolve()
        return cls(root, inside(root, output))

    @property
    def config_dir(self) -> Path:
        return inside(self.root, Path("/etc/showcase"))

    @property
    def config_file(self) -> Path:
        return self.config_dir / "showcase.toml"

    @property
    def credentials_dir(self) -> Path:
        return self.config_dir / "credentials"

    @property
    def env_file(self) -> Path:
        return self.config_dir / "showcase.env"

    @property
    def state_dir(self) -> Path:
        return inside(self.root, Path("/var/lib/showcase"))

    @property
    def database(self) -> Path:
        return self.state_dir / "showcase.db"

    @property
    def units_dir(self) -> Path:
        return inside(self.root, Path("/etc/systemd/system"))

    @property
    def cron_file(self) -> Path:
        return inside(self.root, Path("/etc/cron.d/showcase"))

    @property
    def profile_file(self) -> Path:
        return inside(self.root, Path("/etc/profile.d/showcase.sh"))


@dataclass(frozen=True)
class Account:
    user: str
    group: str
    uid: int
    gid: int


@dataclass
class Report:
    """What the install did and what is left to the operator, in order."""

    done: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)


def inside(root: Path, path: Path) -> Path:
    """`path` (as the installed system sees it) inside `root`."""
    path = Path(path)
    return root / path.relative_to("/") if path.is_absolute() else root / path


def install(
    kind: str,
    source: Config,
    layout: Layout,
    user: str = DEFAULT_USER,
    group: str = DEFAULT_GROUP,
    environ: Mapping[str, str] | None = None,
    program: str | None = None,
) -> Report:
    """Lay out everything for `kind` (systemd or cron); the secrets come from `environ` when it
    holds the variables the config names, and are never replaced once written."""
    if kind not in KINDS:
        raise UsageError(f"install: choose one of {', '.join(KINDS)}")
    if layout.root == Path("/") and os.geteuid() != 0:
        raise UsageError("install: writing to / needs root (sudo); --root DIR tries it in a folder")
    environ = os.environ if environ is None else environ
    report = Report()
    account = ensure_account(layout.root, user, group, report)
    make_folders(layout, account)
    config = install_config(source, layout, account, report)
    initialise_database(config, layout, account, report)
    names = secret_names(config)
    command = program or program_command()
    if kind == "systemd":
        install_credentials(layout, names, environ, report)
        install_units(layout, account, names, command, report)
    else:
        install_env_file(layout, account, names, environ, report)
        install_cron(layout, account, command, report)
    install_profile(layout, account, command, report)
    return report


# -- accounts -------------------------------------------------------------------------------


def ensure_account(root: Path, user: str, group: str, report: Report) -> Account:
    if root == Path("/"):
        if not _group_exists(group):
            _run(["groupadd", "--system", group])
            report.done.append(f"group {group} created")
        if not _user_exists(user):
            _run(_useradd(user, group))
            report.done.append(f"system user {user} created (group {group}, no login)")
    found_user, found_group = _user_exists(user), _group_exists(group)
    uid = pwd.getpwnam(user).pw_uid if found_user else os.geteuid()
    gid = grp.getgrnam(group).gr_gid if found_group else os.getegid()
    if not (found_user and found_group):
        report.done.append(
            f"user {user} / group {group} not on this host: files owned by uid {uid}, gid {gid}"
        )
    return Account(user, group, uid, gid)


def _useradd(user: str, group: str) -> list[str]:
    return [
        "useradd",
        "--system",
        "--gid",
        group,
        "--home-dir",
        "/var/lib/showcase",
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        "showcase service",
        user,
    ]


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}"]
        raise UsageError(f"install: {command[0]} failed: {detail[0]}")


# -- folders and files ----------------------------------------------------------------------


def make_folders(layout: Layout, account: Account) -> None:
    _folder(layout.config_dir, 0o750, 0, account.gid)
    _folder(layout.state_dir, 0o2770, account.uid, account.gid)
    _folder(layout.output, 0o2775, account.uid, account.gid)
    for name in OUTPUT_SUBFOLDERS:
        _folder(layout.output / name, 0o2775, account.uid, account.gid)


def _folder(path: Path, mode: int, uid: int, gid: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    _own(path, mode, uid, gid)


def _own(path: Path, mode: int, uid: int, gid: int) -> None:
    """chown only as root (a trial install as a user keeps its own files); chmod after chown,
    which clears the setgid bit."""
    if os.geteuid() == 0:
        os.chown(path, uid, gid)
    os.chmod(path, mode)


def _write_new(path: Path, text: str, mode: int, uid: int, gid: int) -> None:
    """Create a file with its final mode from the start: a secret is never readable by others,
    not even for a moment."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    _own(path, mode, uid, gid)


# -- config and database --------------------------------------------------------------------


def install_config(source: Config, layout: Layout, account: Account, report: Report) -> Config:
    """Copy the operator's config (comments and all) with the database and the output moved to
    the installed places; an installed config is kept as it is."""
    target = layout.config_file
    if target.exists():
        report.done.append(f"{target}: kept")
    else:
        if source.path is None:
            raise ConfigError("install: the config to install has no file")
        text = installed_config_text(source.path.read_text(encoding="utf-8"), layout)
        _write_new(target, text, 0o640, 0, account.gid)
        report.done.append(f"{target}: written from {source.path}")
    _own(target, 0o640, 0, account.gid)
    with open(target, "rb") as handle:
        data = tomllib.load(handle)
    return config_from_dict(data, base_dir=target.parent, path=target, environ={})


def installed_config_text(text: str, layout: Layout) -> str:
    database_url = f"sqlite:///{layout.database}"
    text = set_toml_string(text, "storage", "database", database_url)
    text = set_toml_string(text, "output", "directory", str(layout.output))
    data = tomllib.loads(text)
    if data["storage"]["database"] != database_url or data["output"]["directory"] != str(
        layout.output
    ):
        raise ConfigError("install: could not set storage.database and output.directory")
    config_from_dict(data, base_dir=layout.config_dir, environ={})  # still valid there
    return text


def set_toml_string(text: str, table: str, key: str, value: str) -> str:
    """Set `key = "value"` in `[table]`, keeping every other line (and comment) as it is."""
    line = f"{key} = {json.dumps(value)}"
    lines = text.splitlines()
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]\s*(#.*)?$")
    start = next((i for i, current in enumerate(lines) if header.match(current)), None)
    if start is None:
        return text.rstrip("\n") + f"\n\n[{table}]\n{line}\n"
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
    end = start + 1
    while end < len(lines) and not re.match(r"^\s*\[", lines[end]):
        if assignment.match(lines[end]):
            lines[end] = line
            return "\n".join(lines) + "\n"
        end += 1
    lines.insert(start + 1, line)
    return "\n".join(lines) + "\n"


def initialise_database(config: Config, layout: Layout, account: Account, report: Report) -> None:
    """Create the database now, group-writable, so that whoever runs first (the service or a
    member of staff) finds it shared; SQLite gives its -wal and -shm files the same mode."""
    from sqlalchemy.engine import make_url  # not at import: the parser reads the defaults

    from aggregator.jobs import lock_path, open_database

    url = make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        report.done.append("database: not an SQLite file, left to its server")
        return
    database = Path(url.database)
    if not database.exists():
        open_database(config).dispose()
        report.done.append(f"{database}: created")
    lock = lock_path(config)
    lock.touch(exist_ok=True)
    for path in (database, lock, *_sqlite_companions(database)):
        _own(path, 0o660, account.uid, account.gid)


def _sqlite_companions(database: Path) -> list[Path]:
    return [p for p in (Path(f"{database}-wal"), Path(f"{database}-shm")) if p.exists()]


# -- secrets --------------------------------------------------------------------------------


def secret_names(config: Config) -> list[str]:
    """The environment variables the config names for its secrets."""
    names = []
    if config.youtube:
        names.append(config.youtube.api_key_env)
    if config.facebook:
        names.append(config.facebook.access_token_env)
        if config.facebook.app_secret_env:
            names.append(config.facebook.app_secret_env)
    return names


def install_credentials(
    layout: Layout, names: Iterable[str], environ: Mapping[str, str], report: Report
) -> None:
    _folder(layout.credentials_dir, 0o700, 0, 0)
    for name in names:
        path = layout.credentials_dir / name
        if path.exists():
            report.done.append(f"{path}: kept")
        elif environ.get(name):
            _write_new(path, environ[name] + "\n", 0o600, 0, 0)
            report.done.append(f"{path}: written from ${name}")
        else:
            report.todo.append(
                f"put the secret into {path} (mode 0600): "
                f"sudo sh -c 'umask 077; cat > {path}'  (paste, then Ctrl-D)"
            )
            continue
        _own(path, 0o600, 0, 0)


def install_env_file(
    layout: Layout,
    account: Account,
    names: Iterable[str],
    environ: Mapping[str, str],
    report: Report,
) -> None:
    """`export NAME='value'` lines for cron; a name already in the file keeps its line."""
    path = layout.env_file
    text = path.read_text(encoding="utf-8") if path.exists() else _ENV_HEAD
    added, missing = [], []
    for name in names:
        if re.search(rf"^\s*(export\s+)?{re.escape(name)}=", text, re.MULTILINE):
            continue
        if environ.get(name):
            text += f"export {name}={shlex.quote(environ[name])}\n"
            added.append(name)
        else:
            missing.append(name)
    existed = path.exists()
    if added or not existed:
        _write_new(path, text, 0o640, 0, account.gid)
    _own(path, 0o640, 0, account.gid)
    said = f"{path}: " + (f"{', '.join(added)} written" if added else "kept" if existed else "made")
    report.done.append(said)
    for name in missing:
        report.todo.append(f"add  export {name}='...'  to {path} (sudoedit {path})")


_ENV_HEAD = """\
# The secrets for showcase's cron line (/etc/cron.d/showcase), which sources this file.
# Mode 0640, root:showcase: not world-readable. One line per variable the config names.
"""


# -- job files ------------------------------------------------------------------------------


def program_command() -> str:
    """The `showcase` beside this Python (the venv's console script), else `python -m`."""
    script = Path(sys.executable).with_name("showcase")
    if script.is_file() and os.access(script, os.X_OK):
        return str(script)
    return f"{sys.executable} -m aggregator"


def job_file(name: str) -> str:
    """A shipped unit or crontab: inside the installed wheel, else the source checkout's jobs/."""
    packaged = resources.files("aggregator").joinpath("data", "jobs", name)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (_REPO_JOBS / name).read_text(encoding="utf-8")


def with_paths(text: str, layout: Layout, command: str) -> str:
    """The shipped program and paths replaced by this install's, in one pass."""
    wanted = {_SHIPPED_PROGRAM: command, str(DEFAULT_OUTPUT): str(layout.output)}
    wanted |= {shipped: str(inside(layout.root, Path(shipped))) for shipped in _SHIPPED_PATHS}
    pattern = re.compile("|".join(re.escape(shipped) for shipped in wanted))
    return pattern.sub(lambda match: wanted[match.group(0)], text)


def unit_text(name: str, layout: Layout, account: Account, names: list[str], command: str) -> str:
    """A shipped unit with this install's paths, user, group and one LoadCredential= line per
    secret the config names."""
    credentials = "".join(
        f"LoadCredential={secret}:/etc/showcase/credentials/{secret}\n" for secret in names
    )
    text = _LOAD_CREDENTIALS.sub(lambda _: credentials, job_file(name), count=1)
    text = re.sub(r"^User=.*$", f"User={account.user}", text, flags=re.MULTILINE)
    text = re.sub(r"^Group=.*$", f"Group={account.group}", text, flags=re.MULTILINE)
    return with_paths(text, layout, command)


def install_units(
    layout: Layout, account: Account, names: list[str], command: str, report: Report
) -> None:
    for name in SYSTEMD_UNITS:
        path = layout.units_dir / name
        _write_new(path, unit_text(name, layout, account, names, command), 0o644, 0, 0)
    report.done.append(f"{layout.units_dir}: {', '.join(SYSTEMD_UNITS)}")
    report.todo.append(
        "systemctl daemon-reload && systemctl enable --now showcase-update.timer"
        "  (or showcase-schedule.service, not both)"
    )
    report.todo.append(
        "systemctl start showcase-update.service && journalctl -u showcase-update -n 20"
        "  (a first run now, and its log)"
    )


def cron_text(layout: Layout, account: Account, command: str) -> str:
    text = _CRON_USER.sub(lambda m: f"{m.group(1)}{account.user}{m.group(2)}", job_file(CRON_FILE))
    return with_paths(text, layout, command)


def install_cron(layout: Layout, account: Account, command: str, report: Report) -> None:
    _write_new(layout.cron_file, cron_text(layout, account, command), 0o644, 0, 0)
    report.done.append(f"{layout.cron_file}: every hour at :17, as {account.user}")
    report.todo.append(
        f"a first run now: sudo -u {account.user} sh -c "
        f"'. {layout.env_file} && {command} --config {layout.config_file} update'"
    )


def install_profile(layout: Layout, account: Account, command: str, report: Report) -> None:
    """Staff's shells find the program and the config without a path or --config."""
    text = f"export SHOWCASE_CONFIG={shlex.quote(str(layout.config_file))}\n"
    _write_new(layout.profile_file, text, 0o644, 0, 0)
    link = inside(layout.root, Path("/usr/local/bin/showcase"))
    if Path(command).is_file() and not (link.exists() or link.is_symlink()):
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(command)
        report.done.append(f"{link} -> {command}")
    report.todo.append(
        f"staff: sudo usermod -aG {account.group} NAME, then log in again (SHOWCASE_CONFIG is "
        f"set by {layout.profile_file})"
    )
