"""The fragment as a host page would show it: `fragment.html` inside a plain sample page.

The fragment is rendered here as `render` writes it (the site's template folders, the same
context), except that its paths into the output folder start with `/ausgabe/`, where the staff
interface serves that folder: the configured `base_url` may be a public site this machine
cannot reach, and the preview must show the thumbnails all the same.
"""

from __future__ import annotations

from datetime import datetime

from jinja2 import Environment
from markupsafe import Markup
from sqlalchemy.orm import Session

from aggregator.config import Config
from aggregator.context import build_showcase
from aggregator.render import (
    FRAGMENT_FILE,
    CardRenderer,
    Formats,
    group_episodes,
    make_environment,
    page_context,
)
from aggregator.web.headers import preview_policy

OUTPUT_PREFIX = "/ausgabe/"


def fragment_html(session: Session, config: Config, now: datetime) -> str:
    showcase = build_showcase(session, config, now)
    env = make_environment(config.template_dirs, Formats.for_showcase(showcase))
    language = Formats.for_showcase(showcase).locale.language
    groups = group_episodes(showcase.episodes)
    context = page_context(showcase, "fragment", groups, 2, language, OUTPUT_PREFIX)
    return env.get_template(FRAGMENT_FILE).render(context, card=CardRenderer(env, context))


def host_page(session: Session, config: Config, now: datetime, env: Environment) -> str:
    fragment = fragment_html(session, config, now)
    return env.get_template("staff/preview_host.html").render(
        title=config.showcase.title, fragment=Markup(fragment)
    )


def policy(html: str) -> str:
    return preview_policy(html)
