"""`showcase install systemd|cron` into a temporary root, then the installed job run the way
systemd or cron would run it: as an unprivileged uid (setpriv), with the unit's environment and
its credentials in $CREDENTIALS_DIRECTORY, against the fake API.

What systemd does with a unit, as these tests reproduce it:
- `User=`/`Group=` and no supplementary groups but the user's own: systemd.exec(5), "User=, Group=".
- `Environment=` assignments, space-separated, quoted like a shell: systemd.exec(5), "Environment=".
- `LoadCredential=ID:PATH` copies PATH (readable by root alone) into a folder only the service
  can read, named in $CREDENTIALS_DIRECTORY, files mode 0400: systemd.exec(5), "Credentials",
  https://systemd.io/CREDENTIALS/.
- `ExecStart=` is split like a shell command line: systemd.service(5), "Command lines".
A cron.d line is `minute hour day month weekday user command`, the command run by /bin/sh:
crontab(5) (Debian cron), "/etc/cron.d".
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import sqlite3
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import ACCESS_TOKEN, API_KEY, write_config

from aggregator import cli, install
from aggregator.config import config_from_dict
from aggregator.fakeapi import FakeApiServer, World
from aggregator.install import set_toml_string

ROOT = Path(__file__).resolve().parents[1]
SERVICE_USER, SERVICE_GROUP = "nobody", "nogroup"  # Debian's 65534:65534 stand in for showcase
STAFF_UID, OUTSIDER_UID = 4242, 4343  # ids with no account, like a new member of staff
SECRETS = {"YOUTUBE_API_KEY": API_KEY, "FACEBOOK_ACCESS_TOKEN": ACCESS_TOKEN}
DEBIAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def require_root() -> None:
    """chown and setpriv need root; CI runs as root and sets SHOWCASE_REQUIRE_ROOT=1."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return
    reason = "installing for another user and running as it needs root and setpriv"
    if os.environ.get("SHOWCASE_REQUIRE_ROOT") == "1":
        pytest.fail(f"{reason}; SHOWCASE_REQUIRE_ROOT=1 requires them", pytrace=False)
    pytest.skip(reason)


def service_ids() -> tuple[int, int]:
    return pwd.getpwnam(SERVICE_USER).pw_uid, grp.getgrnam(SERVICE_GROUP).gr_gid


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    fake = FakeApiServer(World.demo(), api_key=API_KEY, access_token=ACCESS_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def root() -> Iterator[Path]:
    """Outside pytest's tmp_path, whose parents are 0700: the service user must reach it."""
    folder = Path(tempfile.mkdtemp(prefix="showcase-root-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def source(tmp_path, server) -> Path:
    """The operator's config, as `showcase init` leaves it: relative paths, the fake's URLs."""
    path = write_config(tmp_path, server.url)
    path.write_text("# written by hand\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def run_install(
    kind: str, source: Path, root: Path, monkeypatch, secrets=SECRETS, program: str | None = None
) -> float:
    """In this process, or with `program` (another venv's showcase) as a pip user would."""
    for name in SECRETS:
        monkeypatch.delenv(name, raising=False)
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    arguments = ["--config", str(source), "install", kind, "--root", str(root)]
    arguments += ["--user", SERVICE_USER, "--group", SERVICE_GROUP]
    started = time.monotonic()
    if program is None:
        assert cli.main(arguments) == 0
    else:
        done = subprocess.run([program, *arguments], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    return time.monotonic() - started


@pytest.fixture(scope="module")
def program() -> Iterator[str]:
    """A `showcase` the service user can run, as /opt/showcase/.venv/bin/showcase is.

    This test's own venv may sit on a Python under /root (pyenv, 0700), which no other user can
    reach; then a venv on the system's Python of the same version takes in this venv's
    packages (same ABI) through a .pth file, and its console script is the one installed.
    """
    require_root()
    own = str(Path(sys.executable).with_name("showcase"))
    if runs_as_service_user(own):
        yield own
        return
    system_python = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if not system_python.is_file():
        pytest.fail(f"{SERVICE_USER} cannot run {own}, and there is no {system_python}")
    folder = Path(tempfile.mkdtemp(prefix="showcase-venv-"))
    folder.chmod(0o755)
    venv = folder / ".venv"
    subprocess.run([str(system_python), "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = sysconfig.get_path("purelib")
    (venv / "lib" / system_python.name / "site-packages" / "showcase-test.pth").write_text(
        f"import site; site.addsitedir({site_packages!r})\n"
    )
    script = venv / "bin" / "showcase"
    script.write_text(
        f"#!{venv}/bin/python\nimport sys\nfrom aggregator.cli import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    if not runs_as_service_user(str(script)):
        # The packages themselves are out of reach (a checkout under /root): copy them.
        copied = folder / "site-packages"
        shutil.copytree(site_packages, copied, ignore=shutil.ignore_patterns(*NOT_NEEDED))
        subprocess.run(["chmod", "-R", "a+rX", str(copied)], check=True)
        (venv / "lib" / system_python.name / "site-packages" / "showcase-test.pth").write_text(
            f"import site; site.addsitedir({str(copied)!r})\n"
        )
    if not runs_as_service_user(str(script)):
        pytest.fail(f"{SERVICE_USER} can run neither {own} nor {script}")
    yield str(script)
    shutil.rmtree(folder, ignore_errors=True)


# Test tools the service's stand-in venv does without, when its packages must be copied.
NOT_NEEDED = ("playwright*", "mypy*", "hypothesis*", "ruff*", "axe_playwright*", "__pycache__")


def runs_as_service_user(program: str) -> bool:
    uid, gid = service_ids()
    return as_user(uid, gid, [program, "--version"], {"PATH": DEBIAN_PATH}).returncode == 0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def owner(path: Path) -> tuple[str, str]:
    info = path.stat()
    return pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name


# -- how systemd would run the unit ---------------------------------------------------------


@dataclass
class Unit:
    user: str
    group: str
    environment: dict[str, str]
    credentials: dict[str, Path]
    exec_start: list[str]


def read_unit(path: Path) -> Unit:
    settings: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    environment = dict(
        assignment.split("=", 1)
        for value in settings.get("Environment", [])
        for assignment in shlex.split(value)
    )
    credentials = {
        name: Path(source)
        for name, source in (value.split(":", 1) for value in settings["LoadCredential"])
    }
    (exec_start,) = settings["ExecStart"]
    assert not exec_start.startswith(("@", "-", ":", "+", "!")), "a prefix this test ignores"
    assert "$" not in exec_start and "%" not in exec_start, "no expansion this test ignores"
    (user,), (group,) = settings["User"], settings["Group"]
    return Unit(user, group, environment, credentials, shlex.split(exec_start))


def credentials_directory(unit: Unit, uid: int) -> Path:
    """What LoadCredential= gives the service: copies only its uid can read."""
    folder = Path(tempfile.mkdtemp(prefix="showcase-credentials-"))
    for name, source in unit.credentials.items():
        shutil.copyfile(source, folder / name)
        os.chown(folder / name, uid, -1)
        (folder / name).chmod(0o400)
    os.chown(folder, uid, -1)
    folder.chmod(0o500)
    return folder


def as_user(uid: int, gid: int, command: list[str], env: dict[str, str], groups=()):
    """Run `command` as uid:gid. Through /bin/sh: setpriv itself still holds root's
    capabilities when it execs, so it would find a program the user cannot reach."""
    groups_flag = f"--groups={','.join(map(str, groups))}" if groups else "--clear-groups"
    setpriv = ["setpriv", f"--reuid={uid}", f"--regid={gid}", groups_flag, "--"]
    shell = ["/bin/sh", "-c", 'exec "$@"', "sh"]
    return subprocess.run(
        setpriv + shell + command, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def service_environment(unit: Unit, credentials: Path | None) -> dict[str, str]:
    account = pwd.getpwnam(unit.user)
    env = {
        "PATH": DEBIAN_PATH,
        "HOME": account.pw_dir,
        "USER": unit.user,
        "LOGNAME": unit.user,
        "SHELL": account.pw_shell,
        **unit.environment,
    }
    if credentials is not None:
        env["CREDENTIALS_DIRECTORY"] = str(credentials)
    return env


def run_unit(root: Path, name: str = "showcase-update.service", with_credentials: bool = True):
    unit = read_unit(root / "etc/systemd/system" / name)
    uid, gid = pwd.getpwnam(unit.user).pw_uid, grp.getgrnam(unit.group).gr_gid
    folder = credentials_directory(unit, uid) if with_credentials else None
    try:
        started = time.monotonic()
        done = as_user(uid, gid, unit.exec_start, service_environment(unit, folder))
        return done, time.monotonic() - started
    finally:
        if folder is not None:
            shutil.rmtree(folder)


def database_items(root: Path) -> int:
    with sqlite3.connect(root / "var/lib/showcase/showcase.db") as connection:
        return connection.execute("select count(*) from items").fetchone()[0]


def assert_rendered(root: Path) -> None:
    output = root / "var/www/showcase"
    for name in ("index.html", "fragment.html", "figures.json"):
        assert (output / name).is_file(), name
        assert mode(output / name) & 0o004, f"{name} is not readable by the web server"
    page = (output / "index.html").read_text(encoding="utf-8")
    assert 'data-source="youtube"' in page and 'data-source="facebook"' in page


def assert_no_secret_in(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in SECRETS.values():
                assert secret.encode() not in data, f"a secret in {path}"


# -- the layout -----------------------------------------------------------------------------


def test_install_lays_out_config_state_output_and_secrets(source, root, monkeypatch):
    run_install("systemd", source, root, monkeypatch)
    etc = root / "etc/showcase"
    expected_modes = {
        etc: 0o750,
        etc / "showcase.toml": 0o640,
        etc / "credentials": 0o700,
        etc / "credentials/YOUTUBE_API_KEY": 0o600,
        etc / "credentials/FACEBOOK_ACCESS_TOKEN": 0o600,
        root / "var/lib/showcase": 0o2770,
        root / "var/lib/showcase/showcase.db": 0o660,
        root / "var/lib/showcase/showcase.db.lock": 0o660,
        root / "var/www/showcase": 0o2775,
        root / "var/www/showcase/thumbs": 0o2775,
    }
    assert {path: mode(path) for path in expected_modes} == expected_modes
    assert (etc / "credentials/YOUTUBE_API_KEY").read_text().strip() == API_KEY
    installed = (etc / "showcase.toml").read_text(encoding="utf-8")
    assert installed.startswith("# written by hand\n")  # the operator's comments stay
    assert API_KEY not in installed and ACCESS_TOKEN not in installed
    assert f'database = "sqlite:///{root}/var/lib/showcase/showcase.db"' in installed
    assert f'directory = "{root}/var/www/showcase"' in installed
    assert (root / "usr/local/bin/showcase").resolve() == Path(sys.executable).with_name("showcase")
    assert "SHOWCASE_CONFIG=" in (root / "etc/profile.d/showcase.sh").read_text()
    unit = (root / "etc/systemd/system/showcase-update.service").read_text(encoding="utf-8")
    assert API_KEY not in unit and ACCESS_TOKEN not in unit
    if os.geteuid() == 0:
        assert owner(etc / "showcase.toml") == ("root", SERVICE_GROUP)
        assert owner(etc / "credentials/YOUTUBE_API_KEY") == ("root", "root")
        assert owner(root / "var/lib/showcase/showcase.db") == (SERVICE_USER, SERVICE_GROUP)


def test_rerunning_keeps_the_config_and_the_secrets(source, root, monkeypatch):
    run_install("systemd", source, root, monkeypatch)
    config = root / "etc/showcase/showcase.toml"
    config.write_text(config.read_text() + "# edited after the install\n")
    config.chmod(0o644)  # drifted: set right again
    run_install("systemd", source, root, monkeypatch, secrets={"YOUTUBE_API_KEY": "AIzaOther99"})
    assert config.read_text().endswith("# edited after the install\n")
    assert mode(config) == 0o640
    assert (root / "etc/showcase/credentials/YOUTUBE_API_KEY").read_text().strip() == API_KEY


def test_a_secret_not_in_the_environment_is_left_to_the_operator(source, root, monkeypatch, capsys):
    run_install("systemd", source, root, monkeypatch, secrets={"YOUTUBE_API_KEY": API_KEY})
    said = capsys.readouterr().out
    missing = root / "etc/showcase/credentials/FACEBOOK_ACCESS_TOKEN"
    assert not missing.exists()
    assert f"put the secret into {missing}" in said
    assert API_KEY not in said


def test_the_cron_env_file_is_0640_and_the_crontab_holds_no_secret(source, root, monkeypatch):
    run_install("cron", source, root, monkeypatch)
    env_file = root / "etc/showcase/showcase.env"
    assert mode(env_file) == 0o640
    assert f"export YOUTUBE_API_KEY={API_KEY}" in env_file.read_text()
    crontab = (root / "etc/cron.d/showcase").read_text(encoding="utf-8")
    assert API_KEY not in crontab and ACCESS_TOKEN not in crontab
    if os.geteuid() == 0:
        assert owner(env_file) == ("root", SERVICE_GROUP)


def test_installing_into_slash_needs_root(source, monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert cli.main(["--config", str(source), "install", "cron"]) == 2
    assert "needs root" in capsys.readouterr().err


# -- the installed jobs, run as their scheduler would ---------------------------------------


def test_the_timer_unit_fetches_and_renders_as_an_unprivileged_user(
    source, root, server, monkeypatch, program
):
    install_seconds = run_install("systemd", source, root, monkeypatch, program=program)
    done, seconds = run_unit(root)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")  # quiet, as cron wants
    assert database_items(root) > 0
    assert server.stats.youtube_requests > 0 and server.stats.graph_requests > 0
    assert_rendered(root)
    assert_no_secret_in(root / "var")
    print(f"install {install_seconds:.2f} s, unit run {seconds:.2f} s")


def test_only_the_credentials_directory_gives_the_service_its_secrets(
    source, root, monkeypatch, program
):
    run_install("systemd", source, root, monkeypatch, program=program)
    uid, gid = service_ids()
    secret_file = root / "etc/showcase/credentials/YOUTUBE_API_KEY"
    peek = as_user(uid, gid, ["cat", str(secret_file)], {"PATH": DEBIAN_PATH})
    assert peek.returncode != 0 and "Permission denied" in peek.stderr
    done, _ = run_unit(root, with_credentials=False)
    assert done.returncode == 2
    assert "YOUTUBE_API_KEY" in done.stderr and API_KEY not in done.stderr


def test_staff_in_the_group_share_the_database_with_the_service(
    source, root, server, monkeypatch, program
):
    run_install("systemd", source, root, monkeypatch, program=program)
    assert run_unit(root)[0].returncode == 0
    staff_env = {"PATH": DEBIAN_PATH, "SHOWCASE_CONFIG": f"{root}/etc/showcase/showcase.toml"}
    figure = [program, "figures", "set", "facebook_group.members", "450", "--label", "Mitglieder"]
    _, gid = service_ids()
    # A shell's usual umask: SQLite still gives its -wal/-shm the database's mode, and the
    # setgid folder gives them the group.
    with_umask = ["/bin/sh", "-c", 'umask 022; exec "$@"', "sh", *figure]
    staff = as_user(STAFF_UID, STAFF_UID, with_umask, staff_env, groups=[gid])
    assert staff.returncode == 0, staff.stderr
    again, _ = run_unit(root)  # the service still writes after staff did
    assert (again.returncode, again.stderr) == (0, "")
    assert "450" in (root / "var/www/showcase/index.html").read_text(encoding="utf-8")
    outsider = as_user(OUTSIDER_UID, OUTSIDER_UID, figure, staff_env)
    assert outsider.returncode == 2 and "cannot be read" in outsider.stderr


def test_the_cron_line_fetches_and_renders_as_an_unprivileged_user(
    source, root, server, monkeypatch, program
):
    run_install("cron", source, root, monkeypatch, program=program)
    (line,) = [
        line
        for line in (root / "etc/cron.d/showcase").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#") and not re.match(r"^\w+=", line)
    ]
    fields = line.split(None, 6)
    user, command = fields[5], fields[6]
    assert user == SERVICE_USER
    account = pwd.getpwnam(user)
    cron_env = {
        "PATH": "/usr/bin:/bin",
        "HOME": account.pw_dir,
        "LOGNAME": user,
        "SHELL": "/bin/sh",
    }
    done = as_user(account.pw_uid, account.pw_gid, ["/bin/sh", "-c", command], cron_env)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert database_items(root) > 0
    assert_rendered(root)
    assert_no_secret_in(root / "var")


def test_systemd_analyze_verifies_the_installed_units(source, root, monkeypatch):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    run_install("systemd", source, root, monkeypatch)
    units = sorted((root / "etc/systemd/system").glob("showcase-*"))
    done = subprocess.run(
        ["systemd-analyze", "verify", *map(str, units)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if "showcase-" in line and "Special user nobody" not in line  # the test's stand-in
    ]
    assert problems == []


# -- the pieces -----------------------------------------------------------------------------


def test_a_credential_file_stands_in_for_its_variable(tmp_path, monkeypatch):
    """$CREDENTIALS_DIRECTORY/NAME is read as the variable NAME: systemd.exec(5), "Credentials"."""
    (tmp_path / "YOUTUBE_API_KEY").write_text(API_KEY + "\n")
    (tmp_path / "FACEBOOK_ACCESS_TOKEN").write_text(ACCESS_TOKEN)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    monkeypatch.delenv("YOUTUBE_API_KEY", raising=False)
    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", "EAAFromTheEnvironment")
    data = {
        "showcase": {"title": "t", "hashtags": ["x"]},
        "youtube": {"channel": "@x"},
        "facebook": {"page": "x"},
    }
    config = config_from_dict(data, base_dir=tmp_path)
    assert config.youtube is not None and config.youtube.api_key == API_KEY
    # A variable that is set wins over the file.
    assert config.facebook is not None and config.facebook.access_token == "EAAFromTheEnvironment"


def test_setting_a_toml_value_keeps_every_other_line():
    text = '# mine\n[storage]\ndatabase = "sqlite:///x.db"  # old\n\n[showcase]\ntitle = "t"\n'
    changed = set_toml_string(text, "storage", "database", "sqlite:////var/lib/s.db")
    assert (
        changed
        == '# mine\n[storage]\ndatabase = "sqlite:////var/lib/s.db"\n\n[showcase]\ntitle = "t"\n'
    )
    added = set_toml_string(changed, "showcase", "locale", "de_DE")
    assert '[showcase]\nlocale = "de_DE"\ntitle = "t"\n' in added
    appended = set_toml_string(added, "output", "directory", "/var/www/showcase")
    assert appended.endswith('\n\n[output]\ndirectory = "/var/www/showcase"\n')


def test_the_job_files_are_shipped_in_one_copy():
    """jobs/ is the only copy: the wheel takes it in (pyproject's force-include)."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"jobs" = "aggregator/data/jobs"' in pyproject
    assert not (ROOT / "aggregator/data/jobs").exists()


def test_on_the_real_root_a_missing_user_and_group_are_created(monkeypatch):
    """A system group, then a system user in it: no login, its home the state folder.
    (useradd(8), groupadd(8); run for real only on `/`, so here the calls are recorded.)"""
    calls: list[list[str]] = []
    monkeypatch.setattr(install, "_run", calls.append)
    monkeypatch.setattr(install, "_user_exists", lambda name: False)
    monkeypatch.setattr(install, "_group_exists", lambda name: False)
    install.ensure_account(Path("/"), "showcase", "showcase", install.Report())
    assert calls[0] == ["groupadd", "--system", "showcase"]
    assert calls[1][:2] == ["useradd", "--system"] and calls[1][-1] == "showcase"
    assert "/usr/sbin/nologin" in calls[1] and "/var/lib/showcase" in calls[1]
    calls.clear()
    install.ensure_account(Path("/elsewhere"), "showcase", "showcase", install.Report())
    assert calls == []  # under another root, never
