"""Staff accounts, sessions and the login throttle (aggregator/staff.py), and `showcase staff`.

The throttle is the contract's: "after 5 failed logins for one account or one address within
15 minutes, further attempts are refused for 15 minutes". Hashes are Argon2id, as argon2-cffi
writes them (https://argon2-cffi.readthedocs.io/en/stable/api.html, PasswordHasher)."""

from __future__ import annotations

import getpass
import io
import re
import sys
from datetime import UTC, datetime, timedelta

import pytest
from conftest import write_config
from sqlalchemy import select

from aggregator import actions, staff, store
from aggregator.cli import main
from aggregator.config import load_config
from aggregator.errors import UsageError

T0 = datetime(2026, 12, 9, 9, 0, tzinfo=UTC)
PASSWORD = "richtig-langes-passwort"
HERE = "192.0.2.10"
ELSEWHERE = "198.51.100.7"


@pytest.fixture
def anna(engine):
    with store.session_scope(engine) as session:
        assert staff.add_account(session, "anna", PASSWORD, T0) is True
    return "anna"


def login(engine, name, password, address=HERE, at=T0):
    with store.session_scope(engine) as session:
        return staff.check_login(session, name, password, address, at)


def test_the_password_is_stored_as_an_argon2id_hash_never_itself(engine, anna):
    with store.session_scope(engine) as session:
        (row,) = session.scalars(select(store.StaffAccountRow))
        assert row.password_hash.startswith("$argon2id$")
        assert PASSWORD not in row.password_hash
        assert staff.accounts(session) == [staff.Account("anna", T0)]
    with engine.connect() as connection:
        dumped = "\n".join(connection.connection.iterdump())
    assert PASSWORD not in dumped


def test_adding_an_account_again_replaces_its_password_and_ends_its_sessions(engine, anna):
    with store.session_scope(engine) as session:
        token, _ = staff.open_session(session, "anna", T0, 8)
        assert staff.add_account(session, "anna", "ein-anderes-passwort", T0) is False
        assert staff.session_for(session, token, T0) is None
    assert login(engine, "anna", PASSWORD) is False
    assert login(engine, "anna", "ein-anderes-passwort") is True


@pytest.mark.parametrize(
    ("name", "password", "german"),
    [
        ("anna", "kurz", "mindestens 12 Zeichen"),
        ("anna maria", PASSWORD, "Buchstaben"),
        ("", PASSWORD, "Buchstaben"),
        ("a" * 65, PASSWORD, "Buchstaben"),
        ("anna/../root", PASSWORD, "Buchstaben"),
    ],
)
def test_a_bad_name_or_short_password_is_refused_in_english_and_german(
    engine, name, password, german
):
    with store.session_scope(engine) as session, pytest.raises(UsageError) as raised:
        staff.add_account(session, name, password, T0)
    assert raised.value.german is not None and german in raised.value.german
    with store.session_scope(engine) as session:
        assert staff.accounts(session) == []


def test_login_ok_wrong_and_unknown(engine, anna):
    assert login(engine, "anna", PASSWORD) is True
    assert login(engine, "anna", PASSWORD + "x") is False
    assert login(engine, "bernd", PASSWORD) is False
    with store.session_scope(engine) as session:
        failures = session.scalars(select(store.LoginFailureRow)).all()
        assert sorted(row.name for row in failures) == ["anna", "bernd"]


def test_five_failures_for_one_account_throttle_it_from_any_address(engine, anna):
    for minute in range(5):
        at = T0 + timedelta(minutes=minute)
        assert login(engine, "anna", "falsch", f"192.0.2.{minute}", at) is False
    later = T0 + timedelta(minutes=6)
    with pytest.raises(staff.LoginThrottled) as raised:
        login(engine, "anna", PASSWORD, ELSEWHERE, later)  # the right password is not heard
    # Heard again once the oldest of the five is 15 minutes old.
    assert raised.value.retry_after == T0 + staff.THROTTLE_WINDOW - later
    assert login(engine, "bernd", "falsch", ELSEWHERE, later) is False  # other names are not
    assert login(engine, "anna", PASSWORD, ELSEWHERE, T0 + staff.THROTTLE_WINDOW) is True


def test_five_failures_from_one_address_throttle_every_name_there(engine, anna):
    for name in ["bernd", "carla", "dora", "emil", "anna"]:
        assert login(engine, name, "falsch", HERE) is False
    with pytest.raises(staff.LoginThrottled):
        login(engine, "anna", PASSWORD, HERE, T0 + timedelta(minutes=1))
    with pytest.raises(staff.LoginThrottled):
        login(engine, "frieda", "egal", HERE, T0 + timedelta(minutes=1))
    # The account itself has only one failure: from another address it logs in.
    assert login(engine, "anna", PASSWORD, ELSEWHERE, T0 + timedelta(minutes=1)) is True


def test_a_throttled_attempt_records_no_failure_of_its_own(engine, anna):
    """Else hammering during the 15 minutes would keep the lock closed for ever."""
    for second in range(5):
        login(engine, "anna", "falsch", HERE, T0 + timedelta(seconds=second))
    for minute in range(1, 15):
        with pytest.raises(staff.LoginThrottled):
            login(engine, "anna", "falsch", HERE, T0 + timedelta(minutes=minute))
    assert login(engine, "anna", PASSWORD, HERE, T0 + timedelta(minutes=15, seconds=5)) is True


def test_failures_older_than_15_minutes_do_not_count(engine, anna):
    for minute in range(5):
        login(engine, "anna", "falsch", HERE, T0 + timedelta(minutes=minute))
    with pytest.raises(staff.LoginThrottled):
        login(engine, "anna", PASSWORD, HERE, T0 + timedelta(minutes=14, seconds=59))
    at = T0 + timedelta(minutes=15, seconds=1)  # the first failure has aged out: 4 remain
    assert login(engine, "anna", PASSWORD, HERE, at) is True


def test_a_success_clears_only_its_own_names_failures_from_its_address(engine, anna):
    """Decided: logging in to one's own account must not wipe the failed guesses at other
    names from the same address (one valid account would reset an attacker's count)."""
    with store.session_scope(engine) as session:
        staff.add_account(session, "bernd", PASSWORD, T0)
    for name in ["carla", "dora", "emil", "frieda"]:
        login(engine, name, "falsch", HERE)
    login(engine, "anna", "falsch", ELSEWHERE)
    assert login(engine, "bernd", PASSWORD, HERE) is True
    assert login(engine, "bernd", "falsch", HERE) is False  # the address's 5th failure
    with pytest.raises(staff.LoginThrottled):
        login(engine, "bernd", PASSWORD, HERE, T0 + timedelta(seconds=1))
    with store.session_scope(engine) as session:
        anna_failures = store.login_failures_since(session, T0 - timedelta(1), name="anna")
    assert len(anna_failures) == 1


def test_throttled_says_so_in_minutes():
    assert str(staff.LoginThrottled(timedelta(minutes=14, seconds=1))).endswith("15 minutes")
    assert staff.LoginThrottled(timedelta(seconds=20)).retry_after == timedelta(seconds=20)


def test_a_session_opens_with_its_token_and_stores_only_its_hash(engine, anna):
    with store.session_scope(engine) as session:
        token, csrf = staff.open_session(session, "anna", T0, 8)
        assert len(token) >= 43 and len(csrf) >= 43 and token != csrf
        (row,) = session.scalars(select(store.StaffSessionRow))
        assert token not in (row.token_hash, row.csrf_token)
        found = staff.session_for(session, token, T0 + timedelta(hours=7, minutes=59))
        assert found == staff.StaffSession("anna", csrf, T0 + timedelta(hours=8))
        assert staff.session_for(session, token, T0 + timedelta(hours=8)) is None  # expired
        assert staff.session_for(session, token + "x", T0) is None
        assert staff.session_for(session, None, T0) is None
        assert staff.session_for(session, "", T0) is None


def test_a_session_ends_when_closed_or_its_account_is_removed(engine, anna):
    with store.session_scope(engine) as session:
        first, _ = staff.open_session(session, "anna", T0, 8)
        second, _ = staff.open_session(session, "anna", T0, 8)
        staff.close_session(session, first)
        assert staff.session_for(session, first, T0) is None
        assert staff.session_for(session, second, T0) is not None
        assert staff.remove_account(session, "anna") is True
        assert staff.session_for(session, second, T0) is None
        assert staff.remove_account(session, "anna") is False
        assert session.scalars(select(store.StaffSessionRow)).all() == []


def test_a_new_session_sweeps_out_expired_ones(engine, anna):
    with store.session_scope(engine) as session:
        staff.open_session(session, "anna", T0, 1)
        staff.open_session(session, "anna", T0 + timedelta(hours=2), 1)
        assert len(session.scalars(select(store.StaffSessionRow)).all()) == 1


# --- `showcase staff add|remove|list` -----------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def staff_config(tmp_path):
    return write_config(tmp_path, "http://127.0.0.1:9/", "[staff]\nsession_hours = 8\n")


def showcase(config_path, *args, stdin="", monkeypatch=None):
    monkeypatch.setattr(sys, "stdin", stdin if isinstance(stdin, io.StringIO) else
                        io.StringIO(stdin))  # fmt: skip
    return main(["--config", str(config_path), "staff", *args])


def test_staff_add_reads_one_line_from_standard_input(staff_config, monkeypatch, capsys):
    assert (
        showcase(staff_config, "add", "anna", stdin=PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    )
    assert capsys.readouterr() == ("staff add: anna can log in now\n", "")
    assert showcase(staff_config, "add", "anna", stdin="ein-neues-passwort\nmehr\n",
                    monkeypatch=monkeypatch) == 0  # fmt: skip
    assert capsys.readouterr().out == ("staff add: anna's password changed, open sessions ended\n")
    engine = store.open_database(load_config(staff_config).database_url)
    assert login(engine, "anna", "ein-neues-passwort") is True
    with store.session_scope(engine) as session:
        audited = [(change.action, change.target) for change in actions.recent_changes(session)]
    engine.dispose()
    assert audited == [("staff add", "anna"), ("staff add", "anna")]


def test_staff_add_asks_twice_on_a_terminal(staff_config, monkeypatch, capsys):
    answers = iter([PASSWORD, PASSWORD, PASSWORD, "vertippt-vertippt"])
    prompts = []

    def fake_getpass(prompt):
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    assert showcase(staff_config, "add", "anna", stdin=Terminal(), monkeypatch=monkeypatch) == 0
    assert prompts == ["Password for anna: ", "The same again: "]
    assert capsys.readouterr().out == "staff add: anna can log in now\n"
    assert showcase(staff_config, "add", "anna", stdin=Terminal(), monkeypatch=monkeypatch) == 2
    assert (
        capsys.readouterr().err
        == "showcase: staff add: the two passwords differ; nothing changed\n"
    )
    engine = store.open_database(load_config(staff_config).database_url)
    assert login(engine, "anna", PASSWORD) is True
    engine.dispose()


@pytest.mark.parametrize(
    ("name", "stdin", "said"),
    [
        ("anna", "kurz\n", "at least 12 characters"),
        ("anna", "", "no password on standard input"),
        ("anna maria", PASSWORD, "not an account name"),
    ],
)
def test_staff_add_refuses_with_exit_2_and_one_line(staff_config, monkeypatch, capsys, name,
                                                     stdin, said):  # fmt: skip
    assert showcase(staff_config, "add", name, stdin=stdin, monkeypatch=monkeypatch) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("showcase: staff") and said in err
    assert len(err.splitlines()) == 1 and PASSWORD not in err


def test_staff_add_without_a_staff_table_says_serve_staff_needs_it(tmp_path, monkeypatch, capsys):
    config = write_config(tmp_path, "http://127.0.0.1:9/")
    assert showcase(config, "add", "anna", stdin=PASSWORD, monkeypatch=monkeypatch) == 0
    line = capsys.readouterr().out
    assert line.startswith("staff add: anna can log in now; ")
    assert "`serve --staff` needs a [staff] table" in line


def test_staff_list_shows_names_and_dates_never_a_hash(staff_config, monkeypatch, capsys):
    assert showcase(staff_config, "list", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == (
        "staff list: no accounts (add one with `showcase staff add NAME`)\n"
    )
    for name in ("carla", "anna"):
        assert showcase(staff_config, "add", name, stdin=PASSWORD, monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert showcase(staff_config, "list", monkeypatch=monkeypatch) == 0
    out = capsys.readouterr().out
    header, *lines = out.splitlines()
    assert header.split() == ["name", "created"]
    assert [line.split()[0] for line in lines] == ["anna", "carla"]
    assert all(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d (CET|CEST)$", line) for line in lines)
    assert "argon2" not in out and PASSWORD not in out


def test_staff_remove_ends_sessions_and_an_unknown_name_is_exit_2_naming_the_known(
    staff_config, monkeypatch, capsys
):
    assert showcase(staff_config, "add", "anna", stdin=PASSWORD, monkeypatch=monkeypatch) == 0
    engine = store.open_database(load_config(staff_config).database_url)
    with store.session_scope(engine) as session:
        token, _ = staff.open_session(session, "anna", datetime.now(UTC), 8)
    capsys.readouterr()
    assert showcase(staff_config, "remove", "bernd", monkeypatch=monkeypatch) == 2
    assert capsys.readouterr().err == (
        "showcase: staff remove: no account named 'bernd' (known: anna)\n"
    )
    assert showcase(staff_config, "remove", "anna", monkeypatch=monkeypatch) == 0
    assert capsys.readouterr().out == "staff remove: anna removed, and logged out\n"
    with store.session_scope(engine) as session:
        assert staff.session_for(session, token, datetime.now(UTC)) is None
        assert actions.recent_changes(session)[0].action == "staff remove"
    engine.dispose()
    assert showcase(staff_config, "remove", "anna", monkeypatch=monkeypatch) == 2
    assert "there are no accounts yet" in capsys.readouterr().err
