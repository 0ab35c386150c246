"""Error bodies as the real APIs send them, and the HTTP status that goes with each."""

from __future__ import annotations

import base64
import hashlib
import itertools
from typing import Any

_QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)
_KEY_INVALID_MESSAGE = "API key not valid. Please pass a valid API key."
_PLAYLIST_NOT_FOUND_MESSAGE = (
    "The playlist identified with the request's <code>playlistId</code> parameter cannot be found."
)

# reason -> (domain, message, location) for the errors the YouTube API itself raises.
_YOUTUBE_REASONS: dict[str, tuple[str, str, str | None]] = {
    "quotaExceeded": ("youtube.quota", _QUOTA_MESSAGE, None),
    "rateLimitExceeded": ("usageLimits", "Rate Limit Exceeded", None),
    "userRateLimitExceeded": ("usageLimits", "User Rate Limit Exceeded", None),
    "playlistNotFound": ("youtube.playlistItem", _PLAYLIST_NOT_FOUND_MESSAGE, "playlistId"),
    "channelNotFound": (
        "youtube.channel",
        "The channel identified with the request's <code>id</code> parameter cannot be found.",
        "id",
    ),
    "videoNotFound": (
        "youtube.video",
        'The video identified by the <code><a href="/youtube/v3/docs/videos/list#id">id</a>'
        "</code> parameter could not be found.",
        "id",
    ),
    "invalidPageToken": (
        "youtube.parameter",
        "The request specifies an invalid page token.",
        "pageToken",
    ),
    "missingRequiredParameter": ("youtube.parameter", "No filter selected.", None),
    "incompatibleParameters": ("youtube.parameter", "Incompatible parameters specified.", None),
    "unknownPart": ("youtube.part", "Unknown part.", "part"),
}

# The generic answers of Google's front end, which carry a gRPC `status`.
_GOOGLE_STATUS: dict[int, tuple[str, str, str]] = {  # code -> (status, reason, message)
    400: ("INVALID_ARGUMENT", "badRequest", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "unauthorized", "Request is missing required authentication."),
    403: ("PERMISSION_DENIED", "forbidden", "The caller does not have permission"),
    404: ("NOT_FOUND", "notFound", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "rateLimitExceeded", "Resource has been exhausted."),
    500: ("INTERNAL", "backendError", "Internal error encountered."),
    502: ("UNAVAILABLE", "backendError", "Bad Gateway"),
    503: ("UNAVAILABLE", "backendError", "The service is currently unavailable."),
    504: ("DEADLINE_EXCEEDED", "backendError", "The request timed out."),
}


def youtube_error(
    status: int,
    reason: str | None = None,
    message: str | None = None,
    *,
    location: str | None = None,
) -> dict[str, Any]:
    """The body YouTube sends for an error: `youtube_error(403, "quotaExceeded")`.

    `reason` "keyInvalid" (or "API_KEY_INVALID") gives today's invalid-key body; a reason the
    table does not know gives Google's generic body for `status`.
    """
    if reason in ("keyInvalid", "API_KEY_INVALID"):
        return _key_invalid_body(status)
    if reason == "quotaExceeded":
        # Word for word, key order included, as recorded.
        text = message or _QUOTA_MESSAGE
        error = {"errors": [_detail(text, "youtube.quota", reason, None)], "code": status}
        return {"error": {**error, "message": text}}
    if reason in _YOUTUBE_REASONS:
        domain, default_message, default_location = _YOUTUBE_REASONS[reason]
        text = message or default_message
        detail = _detail(text, domain, reason, location or default_location)
        return {"error": {"code": status, "message": text, "errors": [detail]}}
    grpc_status, default_reason, default_message = _GOOGLE_STATUS.get(
        status, ("UNKNOWN", "unknown", "Unknown Error.")
    )
    text = message or default_message
    detail = _detail(text, "global", reason or default_reason, location)
    return {"error": {"code": status, "message": text, "errors": [detail], "status": grpc_status}}


def _key_invalid_body(status: int) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": _KEY_INVALID_MESSAGE,
            "errors": [
                {"message": _KEY_INVALID_MESSAGE, "domain": "global", "reason": "badRequest"}
            ],
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID",
                    "domain": "googleapis.com",
                    "metadata": {"service": "youtube.googleapis.com"},
                }
            ],
        }
    }


def _detail(message: str, domain: str, reason: str, location: str | None) -> dict[str, str]:
    detail = {"message": message, "domain": domain, "reason": reason}
    if location:
        detail |= {"location": location, "locationType": "parameter"}
    return detail


# Graph: code -> (type, message, is_transient, HTTP status)
_GRAPH_CODES: dict[int, tuple[str, str, bool, int]] = {
    1: ("OAuthException", "An unknown error occurred", True, 500),
    2: (
        "OAuthException",
        "An unexpected error has occurred. Please retry your request later.",
        True,
        500,
    ),
    4: ("OAuthException", "(#4) Application request limit reached", True, 403),
    10: (
        "OAuthException",
        "(#10) This endpoint requires the 'pages_read_engagement' permission",
        False,
        400,
    ),
    17: ("OAuthException", "(#17) User request limit reached", True, 403),
    32: ("OAuthException", "(#32) Page request limit reached", True, 403),
    100: (
        "OAuthException",
        "(#100) Object does not exist, cannot be loaded due to missing permission or reviewable "
        "feature, or does not support this operation. This endpoint requires the "
        "'pages_read_engagement' permission or the 'Page Public Content Access' feature or the "
        "'Page Public Metadata Access' feature. Refer to "
        "https://developers.facebook.com/docs/apps/review/login-permissions#manage-pages, "
        "https://developers.facebook.com/docs/apps/review/feature#reference-PAGES_ACCESS and "
        "https://developers.facebook.com/docs/apps/review/feature#page-public-metadata-access "
        "for details.",
        False,
        400,
    ),
    104: ("OAuthException", "An access token is required to request this resource.", False, 400),
    190: ("OAuthException", "Invalid OAuth access token - Cannot parse access token", False, 400),
    200: ("OAuthException", "(#200) Permissions error", False, 403),
    613: ("OAuthException", "(#613) Calls to this api have exceeded the rate limit.", True, 403),
    2500: (
        "OAuthException",
        "An active access token must be used to query information.",
        False,
        400,
    ),
}

_GRAPH_SUBCODES: dict[tuple[int, int], tuple[str, str]] = {  # (code, subcode) -> (type, message)
    (100, 33): (
        "GraphMethodException",
        "Unsupported get request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the Graph "
        "API documentation at https://developers.facebook.com/docs/graph-api",
    ),
    (190, 460): (
        "OAuthException",
        "Error validating access token: The session has been invalidated because the user changed "
        "their password or Facebook has changed the session for security reasons.",
    ),
    (190, 463): (
        "OAuthException",
        "Error validating access token: Session has expired on Monday, 19-Jun-23 06:29:46 PDT. "
        "The current time is Tuesday, 04-Jul-23 02:11:32 PDT.",
    ),
}

_trace_counter = itertools.count(1)


def graph_error(
    code: int,
    subcode: int | None = None,
    message: str | None = None,
    is_transient: bool | None = None,
) -> dict[str, Any]:
    """The body Graph sends for an error: `graph_error(190, 463)`, `graph_error(4)`."""
    error_type, default_message, transient, _ = _GRAPH_CODES.get(
        code, ("OAuthException", f"(#{code}) An error occurred", False, 400)
    )
    if subcode is not None and (code, subcode) in _GRAPH_SUBCODES:
        error_type, default_message = _GRAPH_SUBCODES[(code, subcode)]
    error: dict[str, Any] = {
        "message": message or default_message.replace("{object_id}", "0"),
        "type": error_type,
    }
    if is_transient is None and transient:
        is_transient = True
    if is_transient is not None:
        error["is_transient"] = is_transient
    error["code"] = code
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = _trace_id()
    return {"error": error}


def unknown_object_error(object_id: str) -> dict[str, Any]:
    _, template = _GRAPH_SUBCODES[(100, 33)]
    return graph_error(100, 33, template.replace("{object_id}", object_id))


def graph_status(body: dict[str, Any]) -> int:
    """The HTTP status Graph pairs with an error body."""
    code = body.get("error", {}).get("code")
    return _GRAPH_CODES[code][3] if code in _GRAPH_CODES else 400


def _trace_id() -> str:
    digest = hashlib.sha1(str(next(_trace_counter)).encode()).digest()
    return "A" + base64.b64encode(digest).decode()[:22]
