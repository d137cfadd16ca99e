"""The HTTP API and the web page: a thin front end over the library, like the CLI."""

from archive.web.app import create_app

__all__ = ["create_app"]
