"""HTML to PDF with WeasyPrint: pure (no database, no request), and no network or file access.

The HTML comes from our own templates, but it carries text that candidates and reviewers typed;
the fetcher therefore resolves nothing but ``data:`` URIs (posters are embedded that way), so a
stray ``<img src="http://...">`` or ``file:///etc/passwd`` can never reach out of the renderer.
Fonts come from fontconfig (DejaVu, Debian's fonts-dejavu-core); WeasyPrint embeds the subset of
glyphs it uses, so the PDF reads the same everywhere and its text stays selectable.
"""

from __future__ import annotations

import weasyprint
from weasyprint.urls import URLFetcher

# CSS page sizes for the papers a report may be printed on (the keys are PageSize values).
PAGE_SIZES = {"A4": "A4", "Letter": "letter"}


class PDFError(Exception):
    """The document could not be laid out or written."""


def _fetcher() -> URLFetcher:
    return URLFetcher(allowed_protocols={"data"}, timeout=5)


def render_pdf(html: str, *, stylesheet: str = "", page_size: str = "A4") -> bytes:
    """Lay out ``html`` with ``stylesheet`` on ``page_size`` paper and return the PDF bytes."""
    size = PAGE_SIZES.get(page_size)
    if size is None:
        raise PDFError(f"unknown page size {page_size!r}")
    fetcher = _fetcher()
    sheets = [
        weasyprint.CSS(string=stylesheet, url_fetcher=fetcher),
        # Last, so it wins over the stylesheet's own @page size.
        weasyprint.CSS(string=f"@page {{ size: {size}; }}", url_fetcher=fetcher),
    ]
    try:
        document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url="data:,")
        # PDF/UA-1: tagged (headings, tables, lists, figures with their alt text), with the
        # document language and title, so screen readers read the reports in order.
        pdf = document.write_pdf(
            stylesheets=sheets,
            pdf_identifier=None,
            optimize_images=False,
            pdf_variant="pdf/ua-1",
        )
    except (ValueError, OSError, AssertionError) as error:  # WeasyPrint's own failures
        raise PDFError(f"PDF layout failed: {error}") from error
    if pdf is None:  # pragma: no cover (write_pdf without a target always returns bytes)
        raise PDFError("PDF layout produced nothing")
    return pdf
