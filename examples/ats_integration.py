"""An applicant tracking system's side of the integration, using only the documented API.

It registers a webhook receiver, invites a candidate, waits for the signed
``interview.completed`` event (verified with the ``standardwebhooks`` package), waits for a
review, reads the scores, records a decision, asks for the candidate's PDF report and downloads
it when ready. Run it against a server that can reach the receiver:

    python examples/ats_integration.py --base http://127.0.0.1:5000 --key ivk_... \
        --name "Ada Lovelace" --email ada@example.com --out ada.pdf

(``--receiver-host`` is the address the server posts webhooks to; a loopback one needs
``WEBHOOKS_ALLOW_PRIVATE_TARGETS=1`` on the server.) Progress goes to stdout, one line a step.
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def say(*parts: object) -> None:
    print(*parts, flush=True)


class Receiver:
    """A webhook receiver: verifies every delivery and hands the events over a queue."""

    def __init__(self, host: str) -> None:
        self.secret: str | None = None
        self.events: queue.Queue[dict] = queue.Queue()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    event = Webhook(receiver.secret).verify(body, headers)
                except WebhookVerificationError:
                    self.send_response(401)
                    self.end_headers()
                    return
                receiver.events.put(event)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://{host}:{self.server.server_port}/webhooks"

    def wait(self, event_type: str, invitation_id: int, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                continue
            if event["type"] == event_type and event["data"].get("invitation_id") == invitation_id:
                return event
        raise SystemExit(f"no {event_type} for invitation {invitation_id} in {timeout} s")


class Api:
    def __init__(self, base: str, key: str) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, **kw) -> requests.Response:
        if method == "POST":
            kw.setdefault("headers", {})["Idempotency-Key"] = uuid.uuid4().hex
        response = self.session.request(method, self.base + path, timeout=30, **kw)
        if response.status_code >= 400:
            raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")
        return response


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--screening", type=int, help="default: the first open screening")
    parser.add_argument("--name", required=True)
    parser.add_argument("--email", required=True)
    parser.add_argument("--out", required=True, help="where to write the PDF")
    parser.add_argument("--receiver-host", default="127.0.0.1")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)

    api = Api(args.base, args.key)
    receiver = Receiver(args.receiver_host)
    endpoint = api.call(
        "POST",
        "/webhooks",
        json={"url": receiver.url, "events": ["interview.completed", "review.submitted"]},
    ).json()
    receiver.secret = endpoint["secret"]
    say("webhook", endpoint["id"], receiver.url)

    screening_id = args.screening
    if screening_id is None:
        screenings = api.call("GET", "/screenings").json()["data"]
        screening_id = next(s["id"] for s in screenings if s["status"] == "open")
    invitation = api.call(
        "POST",
        f"/screenings/{screening_id}/invitations",
        json={"name": args.name, "email": args.email, "send_email": False},
    ).json()
    link = api.call("GET", f"/invitations/{invitation['id']}/link").json()["url"]
    say("invited", invitation["id"], link)

    receiver.wait("interview.completed", invitation["id"], args.timeout)
    say("completed", invitation["id"], "(signature verified)")
    receiver.wait("review.submitted", invitation["id"], args.timeout)
    results = api.call("GET", f"/invitations/{invitation['id']}/results").json()
    say("scores", results["overall"]["mean"], len(results["reviewers"]), "review(s)")
    for reviewer in results["reviewers"]:
        values = ",".join(str(s["value"]) for s in reviewer["scores"])
        say("reviewer", reviewer["reviewer"], reviewer["recommendation"], values)

    outcome = "advance" if (results["overall"]["mean"] or 0) >= 3 else "reject"
    decision = api.call(
        "POST",
        f"/invitations/{invitation['id']}/decision",
        json={"outcome": outcome, "note": "Recorded by the ATS"},
    ).json()
    say("decision", decision["outcome"])

    report = api.call(
        "POST",
        "/reports",
        json={
            "kind": "candidate_pdf",
            "screening_id": screening_id,
            "invitation_id": invitation["id"],
        },
    ).json()
    deadline = time.monotonic() + args.timeout
    while report["status"] not in ("ready", "failed"):
        if time.monotonic() > deadline:
            raise SystemExit(f"report {report['id']} still {report['status']}")
        time.sleep(0.5)
        report = api.call("GET", f"/reports/{report['id']}").json()
    if report["status"] == "failed":
        raise SystemExit(f"report failed: {report['error']}")
    pdf = api.call("GET", f"/reports/{report['id']}/file").content
    with open(args.out, "wb") as out:
        out.write(pdf)
    say("pdf", args.out, len(pdf), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
