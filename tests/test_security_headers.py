"""Security headers on every response of every route, discovered from the URL map: pages,
redirects, JSON, tus answers, media (full and ranged), error pages (404, 405, 500, 503)."""

from __future__ import annotations

import pytest

from interview.models import Role
from interview.security import CONTENT_SECURITY_POLICY

from .test_access_control import ROUTES, _url

REQUIRED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _check(response, what) -> None:
    for name, value in REQUIRED.items():
        assert response.headers.get(name) == value, (what, response.status_code, name)


@pytest.mark.parametrize(("endpoint", "rule", "method"), ROUTES)
def test_every_route_answers_with_the_security_headers(
    app, org, sign_in_as, endpoint, rule, method
):
    """Anonymous and signed in (as a role allowed there, if any), whatever the answer."""
    url = _url(app, endpoint, org)
    allowed = getattr(app.view_functions[endpoint], "allowed_roles", None)
    clients = [app.test_client()]
    if allowed:
        clients.append(sign_in_as(Role.ADMIN if Role.ADMIN in allowed else next(iter(allowed))))
    headers = {"Tus-Resumable": "1.0.0"} if "/api/" in rule else {}
    for client in clients:
        response = client.open(url, method=method, headers=headers)
        _check(response, (endpoint, method))
        response.close()
        if method == "GET":
            ranged = client.get(url, headers={**headers, "Range": "bytes=0-3"})
            _check(ranged, (endpoint, "GET ranged"))
            ranged.close()


def test_error_pages_and_static_files_carry_them_too(app, client, org):
    @app.route("/boom-for-headers")  # before the first request: Flask refuses routes after
    def boom():
        raise RuntimeError("kaput")

    _check(client.get("/no/such/page"), "404")
    _check(client.get("/no/such/page", headers={"Accept": "application/json"}), "404 json")
    _check(client.delete("/login"), "405")
    static = client.get("/static/vendor/bootstrap/bootstrap.min.css")
    _check(static, "static")
    static.close()
    _check(client.options(f"/i/{org.token}/api/questions/0/uploads"), "tus OPTIONS")
    _check(client.get("/boom-for-headers"), "500")
