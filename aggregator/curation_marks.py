"""The curation commands and the mark each sets or clears: shared by `actions`, which does
them, and the command line's parser, which must not import the store to name them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CurationAction:
    mark: str  # a column of `store.CurationRow`
    on: bool  # set the mark, or take it off
    word: str  # "pinned", "hidden", "included"
    help: str
    german: str  # the past participle for the web's messages


CURATION = {
    "pin": CurationAction(
        "pinned_at", True, "pinned", "pin an item to the top (the latest pin first)", "angeheftet"
    ),
    "hide": CurationAction(
        "hidden_at",
        True,
        "hidden",
        "keep an item off the page, fragment and feeds",
        "ausgeblendet",
    ),
    "unhide": CurationAction(
        "hidden_at", False, "hidden", "show a hidden item again", "ausgeblendet"
    ),
    "include": CurationAction(
        "included_at",
        True,
        "included",
        "add an item that lacks the hashtag (while it is public)",
        "aufgenommen",
    ),
    "unpin": CurationAction("pinned_at", False, "pinned", "take an item's pin off", "angeheftet"),
    "exclude": CurationAction(
        "included_at",
        False,
        "included",
        "undo `include`: the hashtag decides again",
        "aufgenommen",
    ),
}
