"""PDF rendering with WeasyPrint, safe against hostile content.

Documents are rendered from the application's own templates, whose user text Django
escapes, and WeasyPrint may still be asked for resources by what it renders (an
``<img>``, a stylesheet, a CSS ``url()`` or ``@import``). ``StaticOnlyFetcher``
answers those requests: it serves the application's own static files, named by the
``STATIC_SCHEME`` prefix (``{% pdf_static "path" %}`` in a template), and images
written inline as ``data:image/...``; it refuses everything else, ``file:``,
``http(s):``, other schemes and other ``data:`` types, without opening anything.
Fonts are the system's (Debian's DejaVu, found through fontconfig): no document
names a font to fetch.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

# The prefix of the application's static files in a document: not a scheme any
# other fetcher knows, so that nothing but ``StaticOnlyFetcher`` could resolve it.
STATIC_SCHEME = "hrms-static:"
# Inline images WeasyPrint may decode (``data:`` of any other type is refused).
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/svg+xml", "image/webp")


class RefusedResource(ValueError):
    """A document asked for a resource outside the application's static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serves the application's static files and inline images; refuses the rest.
    ``refused`` lists what was refused, for the logs and the tests."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=("data",), allow_redirects=False)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        if url.startswith(STATIC_SCHEME):
            return self._static(url)
        if url.startswith("data:") and _data_type(url) in IMAGE_TYPES:
            # The base class decodes ``data:`` itself (urllib's DataHandler): no
            # file and no network is touched.
            return super().fetch(url, headers)
        self.refused.append(url)
        raise RefusedResource(f"Refused: {url[:80]}")

    def _static(self, url: str) -> URLFetcherResponse:
        name = url.removeprefix(STATIC_SCHEME).lstrip("/")
        found = finders.find(name) if name and ".." not in Path(name).parts else None
        if not found or not isinstance(found, str):
            self.refused.append(url)
            raise RefusedResource(f"No such static file: {name[:80]}")
        mime = mimetypes.guess_type(found)[0] or "application/octet-stream"
        return URLFetcherResponse(
            url, Path(found).read_bytes(), headers={"Content-Type": mime}
        )

    def open(self, url: Any, data: Any = None, timeout: Any = None) -> Any:
        # Only ``fetch`` may decide; urllib's redirects and handlers never run here.
        target = url.full_url if hasattr(url, "full_url") else url
        if target.startswith("data:") and _data_type(target) in IMAGE_TYPES:
            return super().open(url, data, timeout)
        self.refused.append(str(target))
        raise RefusedResource(f"Refused: {str(target)[:80]}")


def _data_type(url: str) -> str:
    """The media type of a ``data:`` URL, lower case (``text/plain`` by default)."""
    header = url[5:].split(",", 1)[0]
    media = header.split(";", 1)[0].strip().lower()
    return media or "text/plain"


def render_pdf(html: str, *, fetcher: StaticOnlyFetcher | None = None) -> bytes:
    """The PDF of ``html`` (a whole document, its CSS inline or from static files
    through ``STATIC_SCHEME``). ``fetcher``: to see what was refused."""
    document = HTML(
        string=html,
        base_url=STATIC_SCHEME,
        url_fetcher=fetcher or StaticOnlyFetcher(),
    )
    return document.write_pdf()
