"""The staff web interface (`serve --staff`, aggregator/web/) through Starlette's TestClient.

A site is fetched from the fake API (tests/conftest.py) and rendered; the app runs against its
database with one account. The security list of issue 10: no action without a login, CSRF
tokens checked, logins throttled per account and per address (contract: 5 failures within 15
minutes, then HTTP 429 in German), the session cookie's flags, a hostile title inert; and each
change goes through `aggregator.actions`, is audited as "web:<name>" and renders again.

Cookie flags follow RFC 6265 (HttpOnly, Secure, Max-Age) and RFC 6265bis (SameSite=Strict);
Retry-After is RFC 9110 §10.2.3 (seconds); CSP hashes are CSP Level 3 (`'sha256-…'` of the
inline block's text).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from http.cookies import SimpleCookie

import pytest
from starlette.testclient import TestClient
from test_cli import run

from aggregator import actions, jobs, staff, store
from aggregator.config import load_config
from aggregator.web import create_app
from aggregator.web.auth import LOGIN_COOKIE
from aggregator.web.headers import inline_blocks, source_hash

NAME, PASSWORD = "anna", "ein sehr geheimes Passwort"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
POST_ROUTES = {
    "/kuratieren": {"command": "hide", "item": "youtube:{id}"},
    "/aufnehmen": {"url": "https://www.youtube.com/watch?v={id}"},
    "/zusammenfuehren": {"item": "youtube:{id}", "other": "youtube:{other}"},
    "/trennen": {"item": "youtube:{id}"},
    "/kennzahl": {"key": "facebook_group.members", "value": "1310"},
    "/kennzahl/entfernen": {"key": "facebook_group.members"},
    "/aktualisieren": {},
    "/abmelden": {},
}
PAGES = ("/", "/kennzahlen", "/quellen", "/vorschau", "/vorschau/seite", "/aenderungen")


@pytest.fixture
def staff_site(make_site):
    """A fetched and rendered site with `[staff]`, one account and a hostile video title."""
    site = make_site()
    video = next(
        v for v in site.world.youtube_videos.values() if v["status"]["privacyStatus"] == "public"
    )
    video["snippet"]["title"] = f"{HOSTILE} #flächenglühen"
    with site.config.open("a", encoding="utf-8") as config:
        config.write("\n[staff]\nsession_hours = 8\n")
    assert run(site, "update") == 0
    site.hostile_id = video["id"]
    config = load_config(site.config)
    engine = store.open_database(config.database_url)
    with store.session_scope(engine) as session:
        staff.add_account(session, NAME, PASSWORD, datetime.now(UTC))
    site.engine = engine
    site.loaded = config
    yield site
    engine.dispose()


def client_for(site, **options) -> TestClient:
    options.setdefault("follow_redirects", False)
    return TestClient(create_app(site.loaded), **options)


@pytest.fixture
def app_client(staff_site):
    with client_for(staff_site) as client:
        yield client


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def login(client: TestClient, name: str = NAME, password: str = PASSWORD, **kwargs):
    page = client.get("/anmelden", **kwargs)
    # Set by hand: behind an https proxy the cookie is Secure, and the client talks plain http.
    client.cookies.set(LOGIN_COOKIE, SimpleCookie(page.headers["set-cookie"])[LOGIN_COOKIE].value)
    return client.post(
        "/anmelden",
        data={"name": name, "password": password, "csrf": form_token(page.text)},
        **kwargs,
    )


def logged_in(client: TestClient) -> str:
    """Log in; the CSRF token of the session."""
    assert login(client).status_code == 303
    return form_token(client.get("/").text)


def audit(site) -> list[actions.Change]:
    with store.session_scope(site.engine) as session:
        return actions.recent_changes(session)


def curated(site) -> dict:
    with store.session_scope(site.engine) as session:
        return {key: (row.pinned_at, row.hidden_at) for key, row in store.curation(session).items()}


def shown_ids(site, name: str = "index.html") -> set[str]:
    return set(re.findall(r'data-id="([^"]+)"', site.read(name)))


def other_video(site) -> str:
    """A YouTube video shown on a card of its own, other than the hostile one."""
    html = site.read("index.html")
    alone = re.findall(r'data-episode="youtube:([^"]+)"', html)
    return next(i for i in alone if i != site.hostile_id)


def set_cookie_headers(response) -> list[str]:
    return response.headers.get_list("set-cookie")


def session_cookie(response) -> str:
    return next(h for h in set_cookie_headers(response) if h.startswith("showcase_staff="))


# --- no action without a login -----------------------------------------------------------------


def test_every_page_without_a_login_sends_to_the_login_page(app_client):
    for path in (*PAGES, "/ausgabe/index.html"):
        answer = app_client.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, "/anmelden"), path


def test_every_post_without_a_login_changes_nothing(staff_site, app_client):
    index = staff_site.read("index.html")
    other = other_video(staff_site)
    for path, fields in POST_ROUTES.items():
        data = {k: v.format(id=staff_site.hostile_id, other=other) for k, v in fields.items()}
        answer = app_client.post(path, data={**data, "csrf": "guessed"})
        assert (answer.status_code, answer.headers["location"]) == (303, "/anmelden"), path
    assert audit(staff_site) == [] and curated(staff_site) == {}
    assert staff_site.read("index.html") == index


def test_a_wrong_or_missing_csrf_token_is_refused_in_german(staff_site, app_client):
    logged_in(app_client)
    for token in (None, "", "guessed"):
        data = {"command": "hide", "item": f"youtube:{staff_site.hostile_id}"}
        if token is not None:
            data["csrf"] = token
        answer = app_client.post("/kuratieren", data=data)
        assert answer.status_code == 403
        assert "Nichts wurde geändert" in answer.text
    assert audit(staff_site) == [] and curated(staff_site) == {}


def test_another_sessions_csrf_token_is_refused(staff_site):
    with client_for(staff_site) as first, client_for(staff_site) as second:
        first_token = logged_in(first)
        logged_in(second)
        data = {"command": "hide", "item": f"youtube:{staff_site.hostile_id}", "csrf": first_token}
        assert second.post("/kuratieren", data=data).status_code == 403
    assert curated(staff_site) == {}


def test_the_login_form_needs_its_own_token(app_client):
    app_client.get("/anmelden")
    answer = app_client.post("/anmelden", data={"name": NAME, "password": PASSWORD, "csrf": "x"})
    assert answer.status_code == 403
    assert "showcase_staff=" not in " ".join(set_cookie_headers(answer))


# --- the login throttle ------------------------------------------------------------------------


def test_five_wrong_passwords_throttle_the_account_with_a_429_in_german(app_client):
    for _ in range(staff.MAX_FAILURES):
        answer = login(app_client, password="falsch falsch falsch")
        assert answer.status_code == 401
        assert "Name oder Passwort stimmt nicht" in answer.text
    answer = login(app_client)  # the right password, too late
    assert answer.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in answer.text
    assert 0 < int(answer.headers["retry-after"]) <= 15 * 60
    assert "showcase_staff=" not in " ".join(set_cookie_headers(answer))


def test_five_failures_from_one_address_throttle_every_name_from_there(staff_site):
    """Behind the loopback proxy the README shows, the address is X-Forwarded-For's last hop."""
    with client_for(staff_site, client=("127.0.0.1", 40000)) as client:
        guesser = {"X-Forwarded-For": "203.0.113.9"}
        for number in range(staff.MAX_FAILURES):
            assert login(client, f"name{number}", "falsch", headers=guesser).status_code == 401
        assert login(client, headers=guesser).status_code == 429
        elsewhere = {"X-Forwarded-For": "198.51.100.4"}
        assert login(client, headers=elsewhere).status_code == 303


def test_a_forwarded_address_from_a_client_that_is_not_the_proxy_is_ignored(staff_site):
    """A client cannot dodge the address throttle by sending X-Forwarded-For itself."""
    with client_for(staff_site, client=("192.0.2.50", 40000)) as client:
        for number in range(staff.MAX_FAILURES):
            spoofed = {"X-Forwarded-For": f"198.51.100.{number}"}
            assert login(client, f"name{number}", "falsch", headers=spoofed).status_code == 401
        assert login(client, headers={"X-Forwarded-For": "198.51.100.99"}).status_code == 429


# --- the session cookie ------------------------------------------------------------------------


def cookie_attributes(header: str) -> dict[str, str]:
    morsel = next(iter(SimpleCookie(header).values()))
    flags = {k: str(v) for k, v in morsel.items() if v}
    lowered = header.lower()
    flags["httponly"] = "httponly" in lowered
    flags["secure"] = "; secure" in lowered
    return flags


def test_the_session_cookie_is_httponly_strict_and_expires_with_session_hours(app_client):
    answer = login(app_client)
    assert answer.status_code == 303
    flags = cookie_attributes(session_cookie(answer))
    assert flags["httponly"] and flags["samesite"].lower() == "strict"
    assert flags["path"] == "/" and flags["max-age"] == str(8 * 3600)
    assert flags["expires"] and not flags["secure"]  # plain http on loopback: no Secure


def test_the_cookie_is_secure_over_https_and_behind_a_loopback_https_proxy(staff_site):
    with client_for(staff_site, base_url="https://testserver") as client:
        assert cookie_attributes(session_cookie(login(client)))["secure"]
    with client_for(staff_site, client=("127.0.0.1", 40000)) as client:
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
        assert cookie_attributes(session_cookie(login(client, headers=proxied)))["secure"]
    with client_for(staff_site, client=("192.0.2.50", 40000)) as client:
        spoofed = {"X-Forwarded-Proto": "https"}
        assert not cookie_attributes(session_cookie(login(client, headers=spoofed)))["secure"]


def test_logging_out_ends_the_session(app_client):
    token = logged_in(app_client)
    cookie = app_client.cookies.get("showcase_staff")
    assert app_client.post("/abmelden", data={"csrf": token}).status_code == 303
    app_client.cookies.set("showcase_staff", cookie)  # an old copy of the cookie opens nothing
    assert app_client.get("/").headers["location"] == "/anmelden"


# --- what staff see ----------------------------------------------------------------------------


def test_a_hostile_title_is_inert_in_the_staff_view_and_the_preview(staff_site, app_client):
    logged_in(app_client)
    for path in ("/", "/vorschau/seite"):
        page = app_client.get(path).text
        assert "&lt;script&gt;alert(" in page, path
        assert "<script>alert(" not in page and "<img src=x" not in page, path


def test_staff_pages_send_strict_security_headers(app_client):
    logged_in(app_client)
    answer = app_client.get("/")
    policy = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy
    assert "script-src" not in policy  # default-src 'none': no script at all
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "no-store"
    assert "<script" not in answer.text


def test_the_preview_page_allows_only_the_fragments_own_inline_blocks(app_client):
    logged_in(app_client)
    answer = app_client.get("/vorschau/seite")
    policy = answer.headers["content-security-policy"]
    scripts, styles = inline_blocks(answer.text)
    assert scripts and styles
    for block in scripts + styles:
        assert source_hash(block) in policy
    assert "frame-ancestors 'self'" in policy and "'unsafe-inline'" not in policy
    assert "x-frame-options" not in answer.headers
    assert 'class="showcase"' in answer.text and "/ausgabe/thumbs/" in answer.text


def test_the_output_folder_is_served_to_staff_but_never_outside_it(staff_site, app_client):
    logged_in(app_client)
    assert app_client.get("/ausgabe/index.html").text == staff_site.read("index.html")
    assert app_client.get("/ausgabe/../showcase.toml").status_code == 404
    assert app_client.get("/ausgabe/%2e%2e/showcase.toml").status_code == 404


# --- changes -----------------------------------------------------------------------------------


def flash_of(client: TestClient, answer) -> str:
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    found = re.search(r'<p class="flash[^"]*" role="\w+">([^<]+)</p>', page)
    assert found, page
    return found.group(1)


def test_hiding_a_card_renders_again_and_is_audited_as_web(staff_site, app_client):
    token = logged_in(app_client)
    hidden = other_video(staff_site)
    answer = app_client.post(
        "/kuratieren", data={"command": "hide", "item": f"youtube:{hidden}", "csrf": token}
    )
    assert re.fullmatch(
        r"Gespeichert, Seite neu erstellt \d\d:\d\d\.", flash_of(app_client, answer)
    )
    assert hidden not in shown_ids(staff_site) and hidden not in shown_ids(
        staff_site, "fragment.html"
    )
    change = audit(staff_site)[0]
    assert (change.actor, change.action, change.target) == ("web:anna", "hide", f"youtube:{hidden}")
    page = app_client.get("/").text
    assert f'data-item="youtube:{hidden}"' in page  # listed under "Ausgeblendet"
    answer = app_client.post(
        "/kuratieren", data={"command": "unhide", "item": f"youtube:{hidden}", "csrf": token}
    )
    assert flash_of(app_client, answer).startswith("Gespeichert")
    assert hidden in shown_ids(staff_site)


def test_pinning_puts_the_card_first(staff_site, app_client):
    token = logged_in(app_client)
    last = re.findall(r'data-episode="youtube:([^"]+)"', staff_site.read("index.html"))[-1]
    app_client.post(
        "/kuratieren", data={"command": "pin", "item": f"youtube:{last}", "csrf": token}
    )
    assert re.search(r'data-episode="([^"]+)"', staff_site.read("index.html")).group(1) == (
        f"youtube:{last}"
    )
    assert "Lösen" in app_client.get("/").text


def test_an_unknown_address_is_said_in_german_and_changes_nothing(staff_site, app_client):
    token = logged_in(app_client)
    url = "https://www.example.org/gibt-es-nicht"
    answer = app_client.post("/aufnehmen", data={"url": url, "csrf": token})
    with store.session_scope(staff_site.engine) as session, pytest.raises(Exception) as raised:
        actions.resolve_item(session, url, "include")
    assert flash_of(app_client, answer) == raised.value.german.replace("„", "„")
    assert audit(staff_site) == []


def test_merging_two_cards_and_splitting_them_again(staff_site, app_client):
    token = logged_in(app_client)
    first, second = staff_site.hostile_id, other_video(staff_site)
    data = {"item": f"youtube:{first}", "other": f"youtube:{second}", "csrf": token}
    assert flash_of(app_client, app_client.post("/zusammenfuehren", data=data)).startswith(
        "Gespeichert"
    )
    page = app_client.get("/").text
    assert page.count(f'name="item" value="youtube:{second}"') >= 1 and "Trennen" in page
    data = {"item": f"youtube:{second}", "csrf": token}
    assert flash_of(app_client, app_client.post("/trennen", data=data)).startswith("Gespeichert")
    assert [c.action for c in audit(staff_site)][:2] == ["episode split", "episode merge"]


def test_entering_a_figure_shows_it_on_the_page_and_in_the_history(staff_site, app_client):
    token = logged_in(app_client)
    data = {"key": "facebook_group.members", "label": "Gruppenmitglieder", "value": "1.310",
            "day": "2026-11-01", "csrf": token}  # fmt: skip
    assert flash_of(app_client, app_client.post("/kennzahl", data=data)).startswith("Gespeichert")
    assert "Gruppenmitglieder" in staff_site.read("index.html")
    page = app_client.get("/kennzahlen").text
    assert 'data-key="facebook_group.members"' in page and "1.310" in page
    bad = {**data, "value": "viele"}
    assert flash_of(app_client, app_client.post("/kennzahl", data=bad)) == (
        "Bitte eine ganze Zahl eingeben, etwa 3000 oder 3.000."
    )


def test_update_now_with_the_lock_taken_says_so_in_german(staff_site, app_client):
    token = logged_in(app_client)
    with jobs.database_lock(staff_site.loaded):
        answer = app_client.post("/aktualisieren", data={"csrf": token})
    assert "läuft schon eine Aktualisierung" in flash_of(app_client, answer)


def test_update_now_runs_the_quick_update_and_renders(staff_site, app_client):
    """A shown video's new view count is on the page after "Jetzt aktualisieren" (a page
    whose content did not change keeps its file: its mtime says nothing)."""
    token = logged_in(app_client)
    shown = shown_ids(staff_site)
    video = next(
        v
        for v in staff_site.world.youtube_videos.values()
        if v["id"] in shown and v["snippet"].get("liveBroadcastContent", "none") == "none"
    )
    video["statistics"]["viewCount"] = "987654"
    assert "987.654" not in staff_site.read("index.html")
    answer = app_client.post("/aktualisieren", data={"csrf": token})
    assert flash_of(app_client, answer).startswith("Aktualisiert, Seite neu erstellt")
    assert "987.654" in staff_site.read("index.html")


def test_update_now_without_a_key_in_the_environment_says_so_in_german(staff_site, monkeypatch):
    monkeypatch.delenv("YOUTUBE_API_KEY")
    staff_site.loaded = load_config(staff_site.config)
    with client_for(staff_site) as client:
        token = logged_in(client)
        answer = client.post("/aktualisieren", data={"csrf": token})
        text = flash_of(client, answer)
    assert text.startswith("Die Aktualisierung ist auf dem Server nicht vollständig eingerichtet")
    assert "YOUTUBE_API_KEY" in text


def test_a_failed_source_is_said_in_plain_words_without_its_token(staff_site, monkeypatch):
    """The fake Graph API refuses an unknown token with OAuthException code 190, as Graph does
    (https://developers.facebook.com/docs/graph-api/guides/error-handling/)."""
    wrong = "EAAWrongToken9876543210zyxwvu"
    monkeypatch.setenv("FACEBOOK_ACCESS_TOKEN", wrong)
    assert run(staff_site, "update") == 1
    with client_for(staff_site) as client:
        logged_in(client)
        page = client.get("/quellen").text
    assert "Der Zugangsschlüssel wurde abgelehnt" in page
    assert wrong not in page and wrong[:12] not in page


# --- the command line --------------------------------------------------------------------------


def test_serve_staff_refuses_without_a_staff_table(site, capsys):
    assert run(site, "serve", "--staff", "--port", "0") == 2
    assert "showcase staff add NAME" in capsys.readouterr().err


def test_serve_staff_refuses_without_an_account(site, capsys):
    with site.config.open("a", encoding="utf-8") as config:
        config.write("\n[staff]\n")
    assert run(site, "serve", "--staff", "--port", "0") == 2
    assert "no staff account yet: add one with `showcase staff add NAME`" in capsys.readouterr().err


def test_serve_staff_listens_on_loopback_and_stops_on_sigterm(staff_site):
    from test_serve import Server

    server = Server(staff_site, "serve", "--staff", "--port", "0")
    try:
        assert server.url.startswith("http://127.0.0.1:")
        status, headers, body = server.get("anmelden")
        assert status == 200 and "<h1>Anmelden</h1>" in body.decode()
        assert headers["X-Frame-Options"] == "DENY"
        code, _out, err = server.stop()
        assert code == 0, err
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.communicate()
