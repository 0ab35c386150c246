"""How requests leave showcase: through the operator's proxy, except to loopback.

Behind a corporate proxy an operator sets `https_proxy` / `http_proxy` and `no_proxy` (either
case, lower case wins, as in curl and requests). One rule, `ProxySettings.proxy_for`, decides
for every request of every source, whichever HTTP library sends it:

- requests (Facebook, WordPress, the thumbnail copier) reads the variables itself but sends
  even 127.0.0.1 through the proxy when `no_proxy` does not name it, so `ProxySession` asks
  `proxy_for` instead;
- httplib2 (under google-api-python-client, for YouTube) needs PySocks for any proxy: without
  it an http:// request raises ProxiesUnavailableError and an https:// one silently goes
  direct; its own `no_proxy` matching knows no IP ranges and no loopback. `httplib2_proxy_info`
  hands it a ProxyInfo that asks `proxy_for`.

Loopback (127.0.0.0/8, ::1, localhost) never goes through a proxy: `showcase demo` and the
tests talk to a server on this machine. A proxy's user:password is registered as a secret, so
it is redacted from every message.

Every request also has a deadline for its whole exchange (`within_deadline`): the libraries'
timeouts bound each socket read, so a server that trickles one byte a second would otherwise
hold a run, and the lock, for as long as it likes.
"""

from __future__ import annotations

import ipaddress
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import httplib2
import requests
import socks
from requests.sessions import merge_setting

from aggregator.errors import register_secret

SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ProxySettings:
    """The proxy for each URL scheme and the hosts that bypass it, as the environment says."""

    proxies: Mapping[str, str] = field(default_factory=dict)  # scheme -> proxy URL
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ProxySettings:
        env = os.environ if environ is None else environ
        proxies = {}
        for scheme in SCHEMES:
            url = _variable(env, f"{scheme}_proxy")
            if url:
                proxies[scheme] = _with_scheme(url)
                register_secret(urlsplit(proxies[scheme]).password)
        no_proxy = _variable(env, "no_proxy") or ""
        entries = tuple(entry.strip().lower() for entry in no_proxy.split(",") if entry.strip())
        return cls(proxies, entries)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL a request to `url` goes through, or None for a direct connection."""
        parts = urlsplit(url)
        proxy = self.proxies.get(parts.scheme.lower())
        host = parts.hostname
        if proxy is None or not host or self.bypasses(host, _port(parts.scheme, parts.port)):
            return None
        return proxy

    def bypasses(self, host: str, port: int | None = None) -> bool:
        """Loopback, or a host `no_proxy` names. `port` None: entries with a port match too."""
        host = host.strip("[]").rstrip(".").lower()
        if is_loopback(host):
            return True
        return any(_no_proxy_matches(entry, host, port) for entry in self.no_proxy)


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z), localhost and *.localhost (RFC 6761)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _ip(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and address.is_loopback


def describe_proxy(url: str) -> str:
    """host:port of a proxy URL, for messages: never its user and password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{_port(parts.scheme, parts.port)}"


def proxy_note(url: str, settings: ProxySettings | None = None) -> str:
    """For error messages: " (through the proxy host:port)" when a request to `url` uses one,
    as a connection failure may be the proxy's rather than the API's."""
    proxy = (settings or ProxySettings.from_environment()).proxy_for(url)
    return f" (through the proxy {describe_proxy(proxy)})" if proxy else ""


# --- requests --------------------------------------------------------------------------------


class ProxySession(requests.Session):
    """A requests Session whose proxy for each request (and each redirect) is `proxy_for`'s.

    requests' other environment settings (REQUESTS_CA_BUNDLE, ...) still apply.
    """

    def __init__(self, settings: ProxySettings | None = None):
        super().__init__()
        self.proxy_settings = settings or ProxySettings.from_environment()

    def merge_environment_settings(
        self, url: str, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        # requests' own reads every proxy variable again for each request, for `_proxies` to
        # replace its answer: 865 thumbnails took 0.55 s of CPU to download with it, 0.46 s
        # without, with the GIL held. Of the environment only its CA bundle variables are kept.
        if self.trust_env and verify in (True, None):
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            verify = bundle or verify
        return {
            "proxies": self._proxies(url),
            "stream": merge_setting(stream, self.stream),
            "verify": merge_setting(verify, self.verify),
            "cert": merge_setting(cert, self.cert),
        }

    def rebuild_proxies(self, prepared_request: Any, proxies: Any) -> dict[str, str]:
        # A redirect: requests would read the environment again, loopback included. The
        # adapter adds the proxy's credentials itself, so a stale header only needs removing.
        prepared_request.headers.pop("Proxy-Authorization", None)
        return self._proxies(prepared_request.url)

    def _proxies(self, url: str) -> dict[str, str]:
        proxy = self.proxy_settings.proxy_for(url)
        return {urlsplit(url).scheme.lower(): proxy} if proxy else {}


# --- httplib2 --------------------------------------------------------------------------------


class _BypassingProxyInfo(httplib2.ProxyInfo):
    """httplib2's ProxyInfo, deciding per host with showcase's rule (loopback, no_proxy)."""

    def __init__(self, settings: ProxySettings, proxy_url: str):
        parts = urlsplit(proxy_url)
        super().__init__(
            proxy_type=_SOCKS_TYPES.get(parts.scheme.lower(), socks.PROXY_TYPE_HTTP),
            proxy_host=parts.hostname,
            proxy_port=_port(parts.scheme, parts.port),
            proxy_rdns=True,  # the proxy resolves the API's name, as it does for requests
            proxy_user=unquote(parts.username) if parts.username else None,
            proxy_pass=unquote(parts.password) if parts.password else None,
        )
        self.settings = settings

    def bypass_host(self, hostname: str) -> bool:
        return self.settings.bypasses(hostname)

    def __repr__(self) -> str:  # httplib2's own shows the user; the password stays out anyway
        return f"<proxy {self.proxy_host}:{self.proxy_port}>"


_SOCKS_TYPES = {
    "http": socks.PROXY_TYPE_HTTP,
    "https": socks.PROXY_TYPE_HTTP,
    "socks4": socks.PROXY_TYPE_SOCKS4,
    "socks5": socks.PROXY_TYPE_SOCKS5,
    "socks5h": socks.PROXY_TYPE_SOCKS5,
    "socks": socks.PROXY_TYPE_SOCKS5,
}


def httplib2_proxy_info(settings: ProxySettings | None = None) -> Any:
    """What `httplib2.Http(proxy_info=...)` takes: per URL scheme, the proxy (deciding per host
    whether it applies) or None. Never httplib2's default, which reads the environment its
    own way."""
    settings = settings or ProxySettings.from_environment()

    def proxy_info(scheme: str) -> _BypassingProxyInfo | None:
        proxy = settings.proxies.get(scheme)
        return _BypassingProxyInfo(settings, proxy) if proxy else None

    return proxy_info


# --- deadlines -------------------------------------------------------------------------------

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The whole answer did not arrive within the request's deadline."""


def within_deadline(send: Callable[[], T], seconds: float) -> T:
    """`send()`'s result, or DeadlineExceeded once `seconds` have passed without it.

    The exchange runs in a daemon thread: neither requests nor httplib2 can be told to give up
    on a whole response, and the socket of an answer still arriving is out of reach. The thread
    left behind ends when the server or its per-read timeout does, and never keeps the process
    alive; the run goes on without it."""
    outcome: dict[str, Any] = {}

    def exchange() -> None:
        try:
            outcome["value"] = send()
        except BaseException as error:  # handed to the caller's thread
            outcome["error"] = error

    worker = threading.Thread(target=exchange, name="showcase-request", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DeadlineExceeded(f"no whole answer within {seconds:g}s")
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


# --- helpers ---------------------------------------------------------------------------------


def _variable(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or env.get(name.upper()) or None


def _with_scheme(url: str) -> str:
    # curl and requests take "proxy.example.org:3128" as an http:// proxy.
    url = url.strip()
    return url if "://" in url else f"http://{url}"


def _port(scheme: str, port: int | None) -> int | None:
    return port if port is not None else _DEFAULT_PORTS.get(scheme.lower())


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _no_proxy_matches(entry: str, host: str, port: int | None) -> bool:
    """curl's rules: `*` is every host; `example.org` and `.example.org` match the domain and
    its subdomains; an IP address or CIDR range matches addresses; `host:port` one port."""
    if entry == "*":
        return True
    entry_host, entry_port = _split_port(entry.removeprefix("*"))
    if entry_port is not None and port is not None and entry_port != port:
        return False
    entry_host = entry_host.strip("[]").lstrip(".")
    address = _ip(host)
    if address is not None:
        try:
            return address in ipaddress.ip_network(entry_host, strict=False)
        except ValueError:
            return False
    return host == entry_host or host.endswith("." + entry_host)


def _split_port(entry: str) -> tuple[str, int | None]:
    """An entry such as "host:8080" or "[::1]:8080" has a port; a bare IPv6 address has none."""
    host, colon, port = entry.rpartition(":")
    has_port = colon and port.isdigit() and (host.endswith("]") or ":" not in host)
    return (host, int(port)) if has_port else (entry, None)
