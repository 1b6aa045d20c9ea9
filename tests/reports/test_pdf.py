"""HTML → PDF (pure): paper sizes, embedded fonts, selectable text, nothing fetched from outside."""

from __future__ import annotations

import http.server
import threading

import pytest

from interview.reports import pdf

from .conftest import pdf_text, pdf_tool

HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Ünïcode title</title>
</head><body><h1>Zoë Ångström – 3.67</h1><p>Łódź, Straße, ÆØÅ, 東京 is not in DejaVu</p>
<svg width="100" height="20"><rect width="60" height="10" fill="#36c"/></svg></body></html>"""
CSS = "body { font-family: 'DejaVu Sans'; }"


def test_text_is_selectable_and_fonts_are_embedded(tmp_path):
    """Is the text in the PDF as text (not pictures), in fonts carried by the file itself?"""
    data = pdf.render_pdf(HTML, stylesheet=CSS)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    assert "Zoë Ångström – 3.67" in text and "Łódź, Straße, ÆØÅ" in text
    fonts = pdf_tool("pdffonts", data, tmp_path).splitlines()[2:]
    assert fonts, "no font in the PDF"
    for line in fonts:
        assert "DejaVu" in line, line
        emb, sub = line.split()[-5:-3]
        assert (emb, sub) == ("yes", "yes"), line  # embedded, as a subset


@pytest.mark.parametrize(
    ("page_size", "points"), [("A4", "595.276 x 841.89 pts"), ("Letter", "612 x 792 pts")]
)
def test_paper_is_chosen_per_report(tmp_path, page_size, points):
    """Does the page size asked for win over the stylesheet's own?"""
    data = pdf.render_pdf(HTML, stylesheet="@page { size: A5 }", page_size=page_size)
    info = pdf_tool("pdfinfo", data, tmp_path)
    assert points in info, info


def test_unknown_paper_is_refused():
    with pytest.raises(pdf.PDFError):
        pdf.render_pdf(HTML, page_size="A0")


def test_nothing_outside_the_document_is_fetched(tmp_path):
    """Can text typed by a candidate make the renderer read a local file or call a server?"""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    secret = tmp_path / "secret.svg"
    secret.write_text('<svg xmlns="http://www.w3.org/2000/svg"><text>TOPSECRET</text></svg>')
    try:
        html = (
            f'<html><body><img src="http://127.0.0.1:{server.server_port}/x.png">'
            f'<img src="file://{secret}"><object data="file://{secret}"></object>'
            f"<link rel=stylesheet href='http://127.0.0.1:{server.server_port}/x.css'>"
            "<p>still rendered</p></body></html>"
        )
        data = pdf.render_pdf(html)
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
    text = pdf_text(data, tmp_path)
    assert "still rendered" in text and "TOPSECRET" not in text
