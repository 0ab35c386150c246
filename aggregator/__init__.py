"""showcase: a self-hosted social-media and video showcase aggregator."""

__version__ = "0.1.0"
