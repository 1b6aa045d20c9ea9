"""Where media lives: one interface, a local-disk backend and an S3-compatible backend."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, current_app

# Keys are opaque relative paths built by the services: letters, digits and a few separators.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")


class StorageError(Exception):
    """A key that is malformed, or a backend that refused an operation."""


class NotStored(StorageError):
    """Nothing is stored under this key."""


def check_key(key: str) -> str:
    """Refuse keys that could leave the storage root (``..``, absolute paths, odd characters)."""
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key:
        raise StorageError(f"invalid storage key {key!r}")
    return key


class Storage(Protocol):
    """What every backend offers; callers never know which one they hold."""

    def save(self, key: str, fileobj: IO[bytes]) -> int: ...
    def save_file(self, key: str, local_path: str | os.PathLike[str]) -> int: ...
    def save_new(self, key: str, fileobj: IO[bytes]) -> int: ...
    def open(self, key: str) -> IO[bytes]: ...
    def local_copy(self, key: str) -> contextlib.AbstractContextManager[str]: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def presigned_url(self, key: str, expires_seconds: int) -> str | None: ...
    def delete_many(self, keys: list[str]) -> None: ...
    def list_keys(self, prefix: str = "") -> Iterator[tuple[str, float]]: ...


class LocalStorage:
    """Files under one root directory (never a public static folder)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root_text = str(self.root)

    def _path(self, key: str) -> Path:
        # ``check_key`` admits only letters, digits and ``._/-``, with no ``..`` segment, no
        # ``//`` and no leading ``/``, so the path stays under the root without resolving it
        # (a walk of every component, once per chunk on the upload path); nothing but this
        # class writes under the root, so there is no symbolic link to follow out of it.
        return Path(self.root_text, check_key(key))

    def save(self, key: str, fileobj: IO[bytes]) -> int:
        """Write atomically and durably: a temporary file in the same directory, fsync'd,
        renamed, and the directory fsync'd, so a saved key survives a crash or power cut."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(fileobj, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
                size = out.tell()
            os.replace(tmp, path)
            _fsync_directory(path.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return size

    def save_file(self, key: str, local_path: str | os.PathLike[str]) -> int:
        with open(local_path, "rb") as source:
            return self.save(key, source)

    def save_new(self, key: str, fileobj: IO[bytes]) -> int:
        """Write an object whose key nobody else ever writes (it holds a fresh random part)
        straight into place, durably: the file and its directory are fsync'd before this
        returns, but there is no temporary name or rename, because a crash midway leaves a
        partial object that nothing names (the database row naming it is written after), which
        the sweeps remove. For upload chunks: one file, two fsyncs."""
        path = os.path.join(self.root_text, check_key(key))  # check_key refuses "..", "//"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, flags, 0o600)
        try:
            with os.fdopen(fd, "wb", buffering=0) as out:
                shutil.copyfileobj(fileobj, out, 1024 * 1024)
                os.fsync(out.fileno())
                size = out.tell()
            _fsync_directory(os.path.dirname(path))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            raise
        return size

    def open(self, key: str) -> IO[bytes]:
        try:
            return open(self._path(key), "rb")  # noqa: SIM115 (the caller closes the stream)
        except FileNotFoundError as error:
            raise NotStored(key) from error

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[str]:
        """The stored file itself: it is already local."""
        path = self._path(key)
        if not path.is_file():
            raise NotStored(key)
        yield str(path)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as error:
            raise NotStored(key) from error

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return None  # served by the app, which checks who asks

    def delete_many(self, keys: list[str]) -> None:
        for key in keys:
            self.delete(key)

    def list_keys(self, prefix: str = "") -> Iterator[tuple[str, float]]:
        """Every stored key under ``prefix`` with its modification time (epoch seconds)."""
        folder = self.root / prefix.rstrip("/") if prefix.endswith("/") else self.root
        if not folder.is_dir() or self.root not in (folder, *folder.parents):
            return
        for path in folder.rglob("*"):
            if path.is_file():
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key, path.stat().st_mtime


class S3Storage:
    """Objects in one bucket of any S3-compatible service (AWS, MinIO, Ceph, moto)."""

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        # Credentials come from the environment (AWS_ACCESS_KEY_ID, ...), as boto3 reads them.
        self.client = client or boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            config=BotoConfig(signature_version="s3v4", retries={"max_attempts": 3}),
        )

    def save(self, key: str, fileobj: IO[bytes]) -> int:
        size = None
        if fileobj.seekable():  # the size without a HEAD round trip afterwards
            start = fileobj.tell()
            size = fileobj.seek(0, os.SEEK_END) - start
            fileobj.seek(start)
        try:
            self.client.upload_fileobj(fileobj, self.bucket, check_key(key))
        except (ClientError, BotoCoreError, S3UploadFailedError) as error:
            raise StorageError(f"{key}: {error}") from error
        return size if size is not None else self.size(key)

    def save_new(self, key: str, fileobj: IO[bytes]) -> int:
        """An upload chunk: one PUT of the whole body (a chunk is at most a few MB), without
        the transfer manager's threads and part logic; S3 has stored it when this returns.
        A body past 8 MB (a client that sends a whole answer in one PATCH) goes as ``save``."""
        start = fileobj.tell()
        if fileobj.seek(0, os.SEEK_END) - start > 8 * 1024 * 1024:
            fileobj.seek(start)
            return self.save(key, fileobj)
        fileobj.seek(start)
        body = fileobj.read()
        try:
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=body)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"{key}: {error}") from error
        return len(body)

    def save_file(self, key: str, local_path: str | os.PathLike[str]) -> int:
        self.client.upload_file(str(local_path), self.bucket, check_key(key))
        return self.size(key)

    def open(self, key: str) -> IO[bytes]:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"]
        except ClientError as error:
            raise _not_stored_or(error, key) from error

    @contextlib.contextmanager
    def local_copy(self, key: str) -> Iterator[str]:
        """Download to a temporary file that is removed afterwards."""
        with tempfile.TemporaryDirectory(prefix="s3-copy-") as workdir:
            path = os.path.join(workdir, os.path.basename(check_key(key)))
            try:
                self.client.download_file(self.bucket, key, path)
            except ClientError as error:
                raise _not_stored_or(error, key) from error
            yield path

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def delete_many(self, keys: list[str]) -> None:
        """Up to 1,000 keys per request (S3's limit); a key already gone is not an error."""
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": check_key(k)} for k in keys[start : start + 1000]]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True}
                )
            except ClientError as error:
                raise _not_stored_or(error, chunk[0]["Key"]) from error
            except BotoCoreError as error:  # endpoint unreachable, timeouts
                raise StorageError(f"S3 unavailable: {error}") from error
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StorageError(f"{first.get('Key')}: {first.get('Code')}")

    def list_keys(self, prefix: str = "") -> Iterator[tuple[str, float]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                yield item["Key"], item["LastModified"].timestamp()

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotStored:
            return False
        return True

    def size(self, key: str) -> int:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as error:
            raise _not_stored_or(error, key) from error
        return int(head["ContentLength"])

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": check_key(key)},
            ExpiresIn=expires_seconds,
        )


def _fsync_directory(path: str | os.PathLike[str]) -> None:
    """Make a rename in ``path`` durable (the directory entry itself is on disk)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _not_stored_or(error: ClientError, key: str) -> StorageError:
    code = str(error.response.get("Error", {}).get("Code", ""))
    if code in {"404", "NoSuchKey", "NotFound"}:
        return NotStored(key)
    return StorageError(f"{key}: {code or error}")


def storage_from_config(config: Mapping[str, Any]) -> Storage:
    """The backend named by STORAGE_BACKEND (``local`` or ``s3``)."""
    backend = config.get("STORAGE_BACKEND", "local")
    if backend == "local":
        return LocalStorage(config["MEDIA_ROOT"])
    if backend == "s3":
        if not config.get("S3_BUCKET"):
            raise StorageError("STORAGE_BACKEND=s3 needs S3_BUCKET")
        return S3Storage(
            config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
        )
    raise StorageError(f"unknown STORAGE_BACKEND {backend!r} (local or s3)")


def get_storage(app: Flask | None = None) -> Storage:
    """The app's storage backend, built once per app (and per worker process)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    storage = app.extensions.get("media_storage")
    if storage is None:
        storage = storage_from_config(app.config)
        app.extensions["media_storage"] = storage
    return storage
