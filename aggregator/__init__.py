"""showcase: a self-hosted social-media and video showcase aggregator."""

__version__ = "0.1.0"
# Named in every request's User-Agent, so that a site's admin can see who is reading.
PROJECT_URL = "https://github.com/kreativessachsen/showcase"
