"""`showcase check`: each configured source asked once, cheaply, with the real credentials.

Every check is one line, ✓ or ✗, and a failed one says what to do in words a web admin
understands. The checks of a source stop at the first failure that the later ones depend on.
Cost: YouTube 2 quota units (channels.list, one page of the uploads playlist), Facebook 4 Graph
requests (the page, debug_token, one video, one post), the website 1 request (the tag; 3 when
plain permalinks make the API root to be found first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aggregator.config import Config, FacebookConfig, WebsiteConfig, YouTubeConfig
from aggregator.errors import SourceError
from aggregator.models import Usage
from aggregator.retry import RetryPolicy
from aggregator.sources import facebook, website, youtube
from aggregator.sources.facebook import GraphClient, TokenInfo
from aggregator.sources.http import new_session
from aggregator.sources.transport import ProxySettings, describe_proxy

# Graph permissions the token needs: the page's figures and videos, and its posts.
PAGE_PERMISSIONS = ("pages_read_engagement", "pages_read_user_content")
# Meta's data access lapses 90 days after the admin last used the app: say so in time.
DATA_ACCESS_WARNING = timedelta(days=14)
TOKEN_README = 'README, "A long-lived Facebook page access token"'


@dataclass(frozen=True)
class Check:
    source: str
    ok: bool
    what: str
    fix: str = ""

    def line(self) -> str:
        mark = "✓" if self.ok else "✗"
        text = f"{mark} {self.source}: {self.what}"
        return f"{text} → {self.fix}" if self.fix else text


def run_checks(config: Config, policy: RetryPolicy, now: datetime | None = None) -> list[Check]:
    """Every check of every configured source, in the order of the config's sources."""
    moment = now or datetime.now(UTC)
    checks = [proxy_check(config)]
    if config.youtube is not None:
        checks += check_youtube(config.youtube, policy)
    if config.facebook is not None:
        checks += check_facebook(config.facebook, policy, moment)
    if config.website is not None:
        checks += check_website(config.website, policy)
    return checks


# --- proxy -------------------------------------------------------------------------------------


def proxy_check(config: Config) -> Check:
    """Which proxy each source's requests take (https_proxy, http_proxy, no_proxy; the same
    rule the sources use, loopback never proxied)."""
    settings = ProxySettings.from_environment()
    endpoints = {
        "youtube": config.youtube.api_endpoint if config.youtube else None,
        "facebook": config.facebook.graph_url if config.facebook else None,
        "website": config.website.url if config.website else None,
    }
    routes: dict[str, list[str]] = {}
    for name, url in endpoints.items():
        if url is not None:
            proxy = settings.proxy_for(url)
            routes.setdefault(describe_proxy(proxy) if proxy else "", []).append(name)
    if set(routes) <= {""}:
        return Check("proxy", True, "none in use: requests go straight to the APIs")
    parts = [
        f"{', '.join(names)} through {proxy}" if proxy else f"{', '.join(names)} directly"
        for proxy, names in routes.items()
    ]
    return Check("proxy", True, "; ".join(parts))


# --- YouTube -----------------------------------------------------------------------------------


def check_youtube(settings: YouTubeConfig, policy: RetryPolicy) -> list[Check]:
    if not settings.api_key:
        fix = f"export {settings.api_key_env}=... with the key from the Google Cloud console"
        return [Check("youtube", False, "no API key", fix)]
    usage = Usage()
    client = youtube.YouTubeClient(settings, policy, usage)
    try:
        channel = client.channel(settings.channel)
    except SourceError as error:
        return _youtube_failure(error, settings)
    checks = [
        Check("youtube", True, "API key accepted for the YouTube Data API v3"),
        Check("youtube", True, f"channel {settings.channel} found: {_channel_name(channel)}"),
    ]
    try:
        playlist = youtube.uploads_playlist_id(channel)
        next(client.upload_pages(playlist), None)
    except SourceError as error:
        fix = "the channel's uploads cannot be listed; try again later, or report " + error.line()
        return [*checks, Check("youtube", False, f"uploads playlist: {error.cause}", fix)]
    what = f"uploads playlist {playlist} readable ({usage.quota_units} quota units spent)"
    return [*checks, Check("youtube", True, what)]


def _channel_name(channel: dict[str, Any]) -> str:
    snippet = channel.get("snippet")
    title = snippet.get("title") if isinstance(snippet, dict) else None
    return f"{title} ({channel.get('id')})" if title else str(channel.get("id"))


def _youtube_failure(error: SourceError, settings: YouTubeConfig) -> list[Check]:
    key_fix = (
        f"check that {settings.api_key_env} holds a key from the Google Cloud console "
        "(APIs & Services → Credentials) and that the key's restrictions allow this server"
    )
    fixes = {
        "key": ("API key rejected", key_fix),
        "permission": (
            "the key may not use the YouTube Data API v3",
            "enable the YouTube Data API v3 for the key's project (APIs & Services → Library) "
            "and allow it in the key's API restrictions",
        ),
        "quota": (
            "today's quota is spent",
            "wait for the reset at midnight Pacific time, or ask Google for more quota",
        ),
        "not found": (
            f"channel {settings.channel} not found",
            "set youtube.channel to the @handle shown on the channel page, or to its id (UC…)",
        ),
    }
    if error.cause == "not found":
        accepted = Check("youtube", True, "API key accepted for the YouTube Data API v3")
        what, fix = fixes["not found"]
        return [accepted, Check("youtube", False, what, fix)]
    what, fix = fixes.get(error.cause, (error.cause, _network_fix(error, settings.api_endpoint)))
    return [Check("youtube", False, f"{what} ({error.detail})" if error.detail else what, fix)]


# --- Facebook ----------------------------------------------------------------------------------


def check_facebook(settings: FacebookConfig, policy: RetryPolicy, now: datetime) -> list[Check]:
    if not settings.access_token:
        fix = f"export {settings.access_token_env}=... with the page token ({TOKEN_README})"
        return [Check("facebook", False, "no access token", fix)]
    if settings.app_secret_env and not settings.app_secret:
        fix = f"export {settings.app_secret_env}=... with the app secret, or drop app_secret_env"
        return [Check("facebook", False, "no app secret", fix)]
    with new_session() as session:
        graph = GraphClient(settings, settings.access_token, policy, Usage(), session)
        try:
            page = graph.get_page()
        except SourceError as error:
            return [_facebook_failure(error, settings)]
        checks = [Check("facebook", True, f"page {settings.page} found: {page.get('name')}")]
        if settings.app_secret:
            checks.append(Check("facebook", True, "app secret proof accepted"))
        token = facebook.check_token(settings, policy, Usage(), session)
        token_checks = token_facts(token, str(page.get("id")), now)
        checks += token_checks
        if all(check.ok for check in token_checks):
            checks += [_edge_check(graph, edge) for edge in facebook.EDGES]
    return checks


def token_facts(token: TokenInfo, page_id: str, now: datetime) -> list[Check]:
    """What debug_token says, as checks: valid, a page token of this page, lasting, allowed."""
    if not token.valid:
        fix = f"make a new page token ({TOKEN_README})"
        return [Check("facebook", False, f"token not valid: {token.problem or 'no reason'}", fix)]
    if token.token_type != "PAGE" or token.profile_id not in ("", page_id):
        what = (
            f"a {token.token_type or 'unknown'} token"
            if token.token_type != "PAGE"
            else f"a page token of page {token.profile_id}, not of page {page_id}"
        )
        fix = f"use the page token that GET /me/accounts lists beside this page ({TOKEN_README})"
        return [Check("facebook", False, what, fix)]
    checks = [Check("facebook", True, f"page token of this page, {_lifetime(token, now)}")]
    checks.append(_data_access_check(token, now))
    missing = [scope for scope in PAGE_PERMISSIONS if scope not in token.scopes]
    if missing:
        fix = f"make a new token and grant {', '.join(missing)} ({TOKEN_README})"
        checks.append(Check("facebook", False, f"token lacks {', '.join(missing)}", fix))
    else:
        checks.append(Check("facebook", True, f"token holds {', '.join(PAGE_PERMISSIONS)}"))
    return checks


def _lifetime(token: TokenInfo, now: datetime) -> str:
    expires_at = token.expires_at
    if expires_at is None:
        return "never expires"
    if expires_at <= now:
        return f"expired on {expires_at:%Y-%m-%d}"
    return f"expires on {expires_at:%Y-%m-%d}"


def _data_access_check(token: TokenInfo, now: datetime) -> Check:
    until = token.data_access_expires_at
    if until is None:
        return Check("facebook", True, "data access does not expire")
    if until - now <= DATA_ACCESS_WARNING:
        fix = "open the app once as the page's admin (Graph API Explorer) to renew data access"
        return Check("facebook", False, f"data access expires on {until:%Y-%m-%d}", fix)
    return Check("facebook", True, f"data access lasts until {until:%Y-%m-%d}")


def _edge_check(graph: GraphClient, edge: str) -> Check:
    try:
        graph.get(graph.edge_url(edge, 1))
    except SourceError as error:
        fix = f"grant the token {', '.join(PAGE_PERMISSIONS)} ({TOKEN_README})"
        return Check("facebook", False, f"{edge} cannot be read: {error.cause}", fix)
    return Check("facebook", True, f"{edge} readable")


def _facebook_failure(error: SourceError, settings: FacebookConfig) -> Check:
    fixes: dict[str, tuple[str, str]] = {
        "token": ("token rejected", f"make a new page token ({TOKEN_README})"),
        "app secret": (
            "the app requires an app secret proof",
            "set facebook.app_secret_env to the variable holding the app secret"
            if settings.app_secret_env is None
            else f"put the secret of the token's app into {settings.app_secret_env}",
        ),
        "not found": (
            f"page {settings.page} not found",
            "set facebook.page to the page's id or username (from its address)",
        ),
        "permission": (
            "the token may not read the page",
            f"use a page token of this page with {', '.join(PAGE_PERMISSIONS)} ({TOKEN_README})",
        ),
    }
    what, fix = fixes.get(error.cause, (error.cause, _network_fix(error, settings.graph_url)))
    return Check("facebook", False, what, fix)


# --- the website -------------------------------------------------------------------------------


def check_website(settings: WebsiteConfig, policy: RetryPolicy) -> list[Check]:
    with new_session() as session:
        client = website.WordPressClient(settings.url, policy, Usage(), session)
        try:
            tag_id = client.tag_id(settings.tag)
        except SourceError as error:
            return [_website_failure(error, settings)]
        checks = [
            Check("website", True, f"WordPress REST API answers at {client.api_root}"),
            Check("website", True, f"tag {settings.tag!r} found (id {tag_id})"),
        ]
    return checks


def _website_failure(error: SourceError, settings: WebsiteConfig) -> Check:
    if error.cause == "not found" and "tag" in error.detail:
        fix = "set website.tag to the tag's slug, as in the address of its archive (/tag/SLUG/)"
        return Check("website", False, f"no tag {settings.tag!r}", fix)
    if error.cause in ("not found", "permission", "not JSON"):
        fix = (
            "check website.url, and that no security plugin closes the REST API "
            "(/wp-json/) to visitors who are not logged in"
        )
        return Check("website", False, f"no WordPress REST API at {settings.url}", fix)
    return Check("website", False, error.cause, _network_fix(error, settings.url))


def _network_fix(error: SourceError, endpoint: str) -> str:
    if error.cause in ("connection", "timeout"):
        host = urlsplit(endpoint).hostname or endpoint
        return f"{host} cannot be reached: check the network, or the proxy (https_proxy)"
    return error.line()
