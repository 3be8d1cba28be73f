"""Store media objects in a local folder or in S3-compatible storage behind one interface."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, cast, runtime_checkable
from urllib.parse import quote

if TYPE_CHECKING:
    from boto3.s3.transfer import TransferConfig

__all__ = [
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageError",
    "storage_from_config",
]

#: Local temp files carry this prefix so listings can skip half-written objects.
_TEMP_PREFIX = ".lms-tmp-"
_FILE_MODE = 0o640
_DIR_MODE = 0o750
_COPY_CHUNK = 1024 * 1024
_MIB = 1024 * 1024
#: S3 refuses keys longer than 1024 UTF-8 bytes; fail early with our own error instead.
_MAX_KEY_BYTES = 1024
#: SigV4 presigned URLs cannot live longer than seven days.
_MAX_PRESIGN_S = 7 * 24 * 3600


class StorageError(Exception):
    """Signal a refused key, bad configuration or a failed storage operation."""


@runtime_checkable
class Storage(Protocol):
    """Store and fetch media objects by key."""

    name: str

    def save_file(self, key: str, source: Path, content_type: str) -> int:
        """Store a finished file under key atomically; return its size."""
        ...

    def save_bytes(self, key: str, data: bytes, content_type: str) -> int:
        """Store bytes under key atomically; return their length."""
        ...

    def open(self, key: str) -> BinaryIO:
        """Open an object for binary reading; raise FileNotFoundError if missing."""
        ...

    def size(self, key: str) -> int:
        """Return an object's size in bytes; raise FileNotFoundError if missing."""
        ...

    def exists(self, key: str) -> bool:
        """Tell whether an object exists."""
        ...

    def delete(self, key: str) -> None:
        """Delete an object; do nothing if it is already gone."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under "prefix/"; return how many were deleted."""
        ...

    def download_to(self, key: str, dest: Path) -> None:
        """Stream an object into a local file, chunk by chunk."""
        ...

    def local_path(self, key: str) -> Path | None:
        """Return the object's real file path, or None if the backend has none."""
        ...

    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int = 3600,
        download_name: str | None = None,
        inline: bool = True,
        content_type: str | None = None,
    ) -> str | None:
        """Return a signed, expiring GET URL, or None if the backend cannot sign."""
        ...

    def usage_bytes(self, prefix: str = "") -> int:
        """Return the total bytes stored under "prefix/" ("" means everything)."""
        ...


# --------------------------------------------------------------------------- keys


def _check_key(key: str) -> list[str]:
    """Refuse an unsafe key; return its path segments."""
    if not isinstance(key, str) or not key:
        raise StorageError("Storage key must be a non-empty string.")
    # Backslashes are separators on Windows and NUL truncates paths in C; neither is ever
    # legitimate in a generated key, so refuse them rather than guess what was meant.
    if "\\" in key or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in key):
        raise StorageError(f"Storage key contains a forbidden character: {key!r}")
    if key.startswith("/"):
        raise StorageError(f"Storage key must be relative: {key!r}")
    if len(key.encode("utf-8")) > _MAX_KEY_BYTES:
        raise StorageError(f"Storage key is longer than {_MAX_KEY_BYTES} bytes.")
    parts = key.split("/")
    for part in parts:
        # Empty segments ("a//b", "a/") map to different objects on S3 and the same file
        # locally, so they are refused to keep both backends identical.
        if part in ("", ".", ".."):
            raise StorageError(f"Storage key has an empty, '.' or '..' segment: {key!r}")
        if part.startswith(_TEMP_PREFIX):
            raise StorageError(f"Storage key segment uses a reserved prefix: {key!r}")
    return parts


def _check_prefix(prefix: str, *, allow_empty: bool) -> str:
    """Validate a prefix; return it without a trailing slash ("" only if allowed)."""
    if not isinstance(prefix, str):
        raise StorageError("Storage prefix must be a string.")
    # "media/abc/" and "media/abc" both mean the folder of one asset.
    stripped = prefix[:-1] if prefix.endswith("/") else prefix
    if not stripped:
        if allow_empty:
            return ""
        raise StorageError("Refusing an empty prefix: it would address every object.")
    _check_key(stripped)
    return stripped


def _content_disposition(download_name: str | None, inline: bool) -> str:
    """Build a Content-Disposition value with an ASCII fallback and an RFC 5987 filename*."""
    kind = "inline" if inline else "attachment"
    if not download_name:
        return kind
    # Control characters would let a name inject headers; drop them before anything else.
    name = "".join(ch for ch in download_name if unicodedata.category(ch)[0] != "C").strip()
    if not name:
        return kind
    # Old clients only read filename=, so give them the name without diacritics
    # ("Tài liệu" -> "Tai lieu"); đ/Đ have no decomposition and need mapping by hand.
    folded = name.replace("đ", "d").replace("Đ", "D")
    ascii_name = unicodedata.normalize("NFKD", folded).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace('"', "'").replace("\\", "_").strip() or "download"
    encoded = quote(name, safe="")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


# -------------------------------------------------------------------------- local


class LocalStorage:
    """Store objects as files under a root folder."""

    name = "local"

    def __init__(self, root: Path | str) -> None:
        """Use root as the storage folder, creating it if missing."""
        root_path = Path(root)
        root_path.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
        # Resolve once so the containment check compares real paths, symlinks included.
        self.root = root_path.resolve()

    def __repr__(self) -> str:
        return f"LocalStorage(root={str(self.root)!r})"

    def _path(self, key: str) -> Path:
        """Map a key to a path that is guaranteed to lie inside root."""
        path = self.root.joinpath(*_check_key(key))
        # The key check already rules out "..": this catches a symlink planted inside root
        # that points outside it.
        real = Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise StorageError(f"Storage key escapes the storage root: {key!r}")
        return path

    def _dir_for_prefix(self, prefix: str, *, allow_empty: bool) -> Path:
        stripped = _check_prefix(prefix, allow_empty=allow_empty)
        return self._path(stripped) if stripped else self.root

    def _make_dirs(self, directory: Path) -> None:
        """Create directory and its missing parents with mode 0o750, whatever the umask."""
        missing: list[Path] = []
        current = directory
        while current != self.root and not current.is_dir():
            missing.append(current)
            current = current.parent
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=_DIR_MODE)
            except FileExistsError:
                # Another writer made it between our check and mkdir: that is fine.
                if not folder.is_dir():
                    raise
                continue
            os.chmod(folder, _DIR_MODE)

    def _write_atomically(self, key: str, fill: Callable[[BinaryIO], object]) -> int:
        """Write via a temp file in the target folder, then os.replace it onto the key."""
        path = self._path(key)
        self._make_dirs(path.parent)
        fd, tmp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                # Without fsync a crash after os.replace can leave an empty file under key.
                os.fsync(out.fileno())
                os.fchmod(out.fileno(), _FILE_MODE)
                written = out.tell()
            os.replace(tmp_name, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp_name)
            raise
        return written

    def save_file(self, key: str, source: Path, content_type: str) -> int:
        """Copy a finished file in under key; the source is left in place."""
        source = Path(source)

        def fill(out: BinaryIO) -> None:
            with source.open("rb") as src:
                shutil.copyfileobj(src, out, _COPY_CHUNK)

        return self._write_atomically(key, fill)

    def save_bytes(self, key: str, data: bytes, content_type: str) -> int:
        """Write bytes under key."""
        return self._write_atomically(key, lambda out: out.write(data))

    def open(self, key: str) -> BinaryIO:
        """Open the file for reading (seekable)."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"No stored object {key!r}")
        return path.open("rb")

    def size(self, key: str) -> int:
        """Return the file's size."""
        path = self._path(key)
        if not path.is_file():
            raise FileNotFoundError(f"No stored object {key!r}")
        return path.stat().st_size

    def exists(self, key: str) -> bool:
        """Tell whether the file exists."""
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        """Remove the file if present."""
        # Empty parent folders are left alone: pruning them races with a concurrent writer
        # that has just created the folder and is about to put its temp file in it.
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        """Remove every file under prefix/ and the emptied folders."""
        top = self._dir_for_prefix(prefix, allow_empty=False)
        if not top.is_dir():
            return 0
        count = 0
        # Bottom-up, not following symlinks, so nothing outside the prefix is touched.
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            for filename in filenames:
                os.unlink(os.path.join(dirpath, filename))
                if not filename.startswith(_TEMP_PREFIX):
                    count += 1
            for dirname in dirnames:
                with suppress(OSError):
                    os.rmdir(os.path.join(dirpath, dirname))
        with suppress(OSError):
            os.rmdir(top)
        return count

    def download_to(self, key: str, dest: Path) -> None:
        """Copy the file to dest in chunks."""
        with self.open(key) as src, Path(dest).open("wb") as out:
            shutil.copyfileobj(src, out, _COPY_CHUNK)

    def local_path(self, key: str) -> Path | None:
        """Return the file path under root (whether or not the file exists yet)."""
        return self._path(key)

    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int = 3600,
        download_name: str | None = None,
        inline: bool = True,
        content_type: str | None = None,
    ) -> str | None:
        """Return None: local files are served by the app itself."""
        _check_key(key)
        return None

    def usage_bytes(self, prefix: str = "") -> int:
        """Sum file sizes under prefix/, skipping half-written temp files."""
        top = self._dir_for_prefix(prefix, allow_empty=True)
        total = 0
        for dirpath, _dirnames, filenames in os.walk(top):
            for filename in filenames:
                if filename.startswith(_TEMP_PREFIX):
                    continue
                with suppress(OSError):  # deleted while we walked
                    total += os.lstat(os.path.join(dirpath, filename)).st_size
        return total


# ----------------------------------------------------------------------------- S3

_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_SESSION_LOCK = threading.Lock()
_session: Any = None


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3Storage:
    """Store objects in an S3-compatible bucket (AWS, MinIO, Wasabi, moto)."""

    name = "s3"

    #: Uploads above this size go multipart, in parts of the same size.
    multipart_threshold = 8 * _MIB
    multipart_chunksize = 8 * _MIB
    max_concurrency = 4
    #: Keys per ListObjectsV2 page; 1000 is S3's maximum and the DeleteObjects batch limit.
    list_page_size = 1000

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "path",
        key_prefix: str = "",
        *,
        connect_timeout: float = 5,
        read_timeout: float = 60,
    ) -> None:
        """Describe the bucket; the client is created on first use."""
        if not bucket:
            raise StorageError("S3Storage needs a bucket name.")
        if addressing_style not in ("path", "virtual", "auto"):
            raise StorageError(
                f"S3 addressing style must be 'path', 'virtual' or 'auto', not {addressing_style!r}."
            )
        self.bucket = bucket
        self.endpoint_url = endpoint_url or None
        self.region = region or "us-east-1"
        self.addressing_style = addressing_style
        stripped = _check_prefix(key_prefix or "", allow_empty=True)
        self.key_prefix = f"{stripped}/" if stripped else ""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # Credentials stay private so repr() and logs never show them; None falls back
        # to boto3's chain (environment, instance role), which is what AWS deployments want.
        self._access_key_id = access_key_id or None
        self._secret_access_key = secret_access_key or None
        self._client: Any = None
        self._client_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"S3Storage(bucket={self.bucket!r}, endpoint_url={self.endpoint_url!r}, "
            f"region={self.region!r}, key_prefix={self.key_prefix!r})"
        )

    # -- plumbing

    @property
    def client(self) -> Any:
        """Return the shared boto3 S3 client, creating it once (boto3 clients are thread-safe)."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = self._make_client()
        return self._client

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": self.addressing_style},
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            # Room for the multipart workers plus concurrent requests from the app.
            max_pool_connections=max(10, self.max_concurrency * 2),
            # botocore >= 1.36 adds CRC checksums to every upload by default, which several
            # S3-compatible services (older MinIO, some Wasabi/Ceph gateways) reject; only
            # send them when the operation requires it.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        global _session
        # Sessions are not thread-safe, so clients are made under a lock; one shared Session
        # keeps botocore's parsed service model cached across S3Storage instances.
        with _SESSION_LOCK:
            if _session is None:
                _session = boto3.session.Session()
            return _session.client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=self._access_key_id,
                aws_secret_access_key=self._secret_access_key,
                config=config,
            )

    def _transfer_config(self) -> TransferConfig:
        from boto3.s3.transfer import TransferConfig

        # Threads from s3transfer, not asyncio/CRT: bounded memory is chunksize x concurrency.
        return TransferConfig(
            multipart_threshold=self.multipart_threshold,
            multipart_chunksize=self.multipart_chunksize,
            max_concurrency=self.max_concurrency,
            use_threads=True,
        )

    def _key(self, key: str) -> str:
        _check_key(key)
        return self.key_prefix + key

    def _list_prefix(self, prefix: str, *, allow_empty: bool) -> str:
        stripped = _check_prefix(prefix, allow_empty=allow_empty)
        return self.key_prefix + (f"{stripped}/" if stripped else "")

    def _iter_pages(self, full_prefix: str) -> Iterator[list[dict[str, Any]]]:
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=full_prefix,
            PaginationConfig={"PageSize": self.list_page_size},
        )
        try:
            for page in pages:
                yield page.get("Contents", [])
        except Exception as exc:
            raise self._wrap(exc, f"listing {full_prefix!r}") from exc

    def _wrap(self, exc: Exception, action: str) -> Exception:
        """Turn a botocore error into FileNotFoundError or StorageError."""
        if isinstance(exc, StorageError | FileNotFoundError):
            return exc
        if _error_code(exc) in _NOT_FOUND_CODES:
            return FileNotFoundError(f"Not found in bucket {self.bucket!r} while {action}")
        return StorageError(f"S3 error while {action} in bucket {self.bucket!r}: {exc}")

    # -- public API

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (demo and tests; production buckets are provisioned)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except Exception as exc:
            if _error_code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise self._wrap(exc, "checking the bucket") from exc
        params: dict[str, Any] = {"Bucket": self.bucket}
        # us-east-1 is the one region that rejects an explicit LocationConstraint.
        if self.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self.client.create_bucket(**params)
        except Exception as exc:
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou"}:
                raise self._wrap(exc, "creating the bucket") from exc

    def save_file(self, key: str, source: Path, content_type: str) -> int:
        """Upload a finished file (multipart above 8 MiB); the source is left in place."""
        full_key = self._key(key)
        source = Path(source)
        size = source.stat().st_size
        try:
            # S3 only makes an object visible once the PUT or the multipart completion
            # succeeds, so readers never see a partial upload.
            self.client.upload_file(
                str(source),
                self.bucket,
                full_key,
                ExtraArgs={"ContentType": content_type} if content_type else {},
                Config=self._transfer_config(),
            )
        except Exception as exc:
            raise self._wrap(exc, f"uploading {key!r}") from exc
        return size

    def save_bytes(self, key: str, data: bytes, content_type: str) -> int:
        """Upload bytes in a single PUT."""
        full_key = self._key(key)
        try:
            extra = {"ContentType": content_type} if content_type else {}
            self.client.put_object(Bucket=self.bucket, Key=full_key, Body=data, **extra)
        except Exception as exc:
            raise self._wrap(exc, f"uploading {key!r}") from exc
        return len(data)

    def open(self, key: str) -> BinaryIO:
        """Return the object's streaming body (readable, not seekable)."""
        full_key = self._key(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=full_key)
        except Exception as exc:
            raise self._wrap(exc, f"opening {key!r}") from exc
        return cast(BinaryIO, response["Body"])

    def size(self, key: str) -> int:
        """Return ContentLength from a HEAD request."""
        full_key = self._key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=full_key)
        except Exception as exc:
            raise self._wrap(exc, f"reading the size of {key!r}") from exc
        return int(response["ContentLength"])

    def exists(self, key: str) -> bool:
        """Tell whether a HEAD request finds the object."""
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def delete(self, key: str) -> None:
        """Delete the object (S3 does not complain if it is already gone)."""
        full_key = self._key(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=full_key)
        except Exception as exc:
            raise self._wrap(exc, f"deleting {key!r}") from exc

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under prefix/, a page (at most 1000 keys) per DeleteObjects call."""
        full_prefix = self._list_prefix(prefix, allow_empty=False)
        count = 0
        for contents in self._iter_pages(full_prefix):
            # A page holds at most 1000 keys, the DeleteObjects limit; slicing keeps that
            # true even if a server returns bigger pages.
            for start in range(0, len(contents), 1000):
                batch = [{"Key": item["Key"]} for item in contents[start : start + 1000]]
                try:
                    response = self.client.delete_objects(
                        Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                    )
                except Exception as exc:
                    raise self._wrap(exc, f"deleting under {prefix!r}") from exc
                errors = response.get("Errors") or []
                if errors:
                    first = errors[0]
                    raise StorageError(
                        f"Could not delete {len(errors)} object(s) under {prefix!r}, "
                        f"e.g. {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                    )
                count += len(batch)
        return count

    def download_to(self, key: str, dest: Path) -> None:
        """Download to dest with ranged GETs in parallel; memory stays bounded."""
        full_key = self._key(key)
        try:
            self.client.download_file(
                self.bucket, full_key, str(dest), Config=self._transfer_config()
            )
        except Exception as exc:
            raise self._wrap(exc, f"downloading {key!r}") from exc

    def local_path(self, key: str) -> Path | None:
        """Return None: objects live in the bucket, not on this disk."""
        _check_key(key)
        return None

    def presigned_url(
        self,
        key: str,
        *,
        expires_s: int = 3600,
        download_name: str | None = None,
        inline: bool = True,
        content_type: str | None = None,
    ) -> str | None:
        """Sign a GET URL that also sets Content-Disposition (and Content-Type if given)."""
        full_key = self._key(key)
        if not 1 <= int(expires_s) <= _MAX_PRESIGN_S:
            raise StorageError(f"expires_s must be between 1 and {_MAX_PRESIGN_S} seconds.")
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": full_key,
            "ResponseContentDisposition": _content_disposition(download_name, inline),
        }
        if content_type:
            params["ResponseContentType"] = content_type
        try:
            # Signing is local computation: no request, so no existence check either.
            return str(
                self.client.generate_presigned_url(
                    "get_object", Params=params, ExpiresIn=int(expires_s)
                )
            )
        except Exception as exc:
            raise self._wrap(exc, f"signing a URL for {key!r}") from exc

    def usage_bytes(self, prefix: str = "") -> int:
        """Sum object sizes under prefix/ ("" = the whole bucket, or the key_prefix)."""
        full_prefix = self._list_prefix(prefix, allow_empty=True)
        return sum(
            int(item.get("Size", 0)) for page in self._iter_pages(full_prefix) for item in page
        )


# ------------------------------------------------------------------------- config


def _setting(config: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """Read a setting, treating an empty string (an unset env var) as missing."""
    value = config.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return default
    return value.strip() if isinstance(value, str) else value


def storage_from_config(config: Mapping[str, Any]) -> Storage:
    """Build the storage the settings choose: a local folder or an S3 bucket."""
    backend = str(_setting(config, "STORAGE_BACKEND", "local")).lower()
    if backend == "local":
        root = _setting(config, "MEDIA_ROOT")
        if root is None:
            raise StorageError("STORAGE_BACKEND is 'local' but MEDIA_ROOT is not set.")
        return LocalStorage(Path(root))
    if backend == "s3":
        bucket = _setting(config, "S3_BUCKET")
        if bucket is None:
            raise StorageError("STORAGE_BACKEND is 's3' but S3_BUCKET is not set.")
        return S3Storage(
            bucket=str(bucket),
            endpoint_url=_setting(config, "S3_ENDPOINT_URL"),
            region=str(_setting(config, "S3_REGION", "us-east-1")),
            access_key_id=_setting(config, "S3_ACCESS_KEY_ID"),
            secret_access_key=_setting(config, "S3_SECRET_ACCESS_KEY"),
            addressing_style=str(_setting(config, "S3_ADDRESSING_STYLE", "path")).lower(),
            key_prefix=str(_setting(config, "S3_KEY_PREFIX", "")),
        )
    raise StorageError(f"Unknown STORAGE_BACKEND {backend!r}: use 'local' or 's3'.")
