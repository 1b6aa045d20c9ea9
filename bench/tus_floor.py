"""The floor of a Python tus server on this machine, for bench/tus_bench.py's ``py-floor`` target:
what the same gunicorn layout as the product's node (gthread, the same workers, threads and
keep-alive) costs with nothing of the product in it. No framework, no database, no rate limit,
no link to check: the reference's file store written in plain WSGI. A POST creates an empty
file (deferred length); a PATCH checks its offset against the file's size (409 if it differs),
appends the body and fsyncs it before answering 204, as @tus/file-store with the bench's fsync
does. Its figures against @tus/server's say how much of a gap is the runtime (CPython threads
under one interpreter lock, gunicorn's dispatch) rather than the product's work.

Not a tus server for anything else: one process's view of offsets is the file's size, with no
lock between two PATCHes at one offset (the bench never sends two at once for one upload).
Served as ``gunicorn tus_floor:app`` with FLOOR_FOLDER naming the folder for the files.
"""

from __future__ import annotations

import os
import secrets

FOLDER = os.environ.get("FLOOR_FOLDER", ".")
TUS = [("Tus-Resumable", "1.0.0")]
READ = 1024 * 1024


def app(environ: dict, start_response):
    method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
    if method == "OPTIONS":
        start_response("204 No Content", [*TUS, ("Tus-Version", "1.0.0")])
        return [b""]
    if method == "POST" and path == "/files":
        name = secrets.token_hex(16)
        os.close(os.open(os.path.join(FOLDER, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        start_response("201 Created", [*TUS, ("Location", f"/files/{name}")])
        return [b""]
    name = path.removeprefix("/files/")
    if method != "PATCH" or not name.isalnum():
        start_response("404 Not Found", TUS)
        return [b""]
    fd = os.open(os.path.join(FOLDER, name), os.O_WRONLY | os.O_APPEND)
    try:
        offset = os.fstat(fd).st_size
        if environ.get("HTTP_UPLOAD_OFFSET") != str(offset):
            start_response("409 Conflict", [*TUS, ("Upload-Offset", str(offset))])
            return [b""]
        stream, left = environ["wsgi.input"], int(environ.get("CONTENT_LENGTH") or 0)
        while left > 0:
            block = stream.read(min(READ, left))
            if not block:
                break
            os.write(fd, block)
            left -= len(block)
        os.fsync(fd)
        offset = os.fstat(fd).st_size
    finally:
        os.close(fd)
    start_response("204 No Content", [*TUS, ("Upload-Offset", str(offset))])
    return [b""]
