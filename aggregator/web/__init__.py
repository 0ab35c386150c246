"""The staff web interface (`showcase serve --staff`): Starlette, served by uvicorn."""

from aggregator.web.app import create_app

__all__ = ["create_app"]
