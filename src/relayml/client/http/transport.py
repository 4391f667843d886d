"""The wire under the http backend: one keep-alive httpx client, JSON calls, and verified
streaming of files both ways. Errors come back as the RelayError the server raised.

Every area module (`client/http/<area>.py`) holds one `HttpTransport` and speaks through
`call`, `put_file` and `get_file`; replies are decoded with the area's wire models.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from relayml import wire
from relayml.domain.artifacts import CHUNK
from relayml.errors import IntegrityError, InvalidInput, RelayError, ServerUnavailable, from_dict

_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
KEY_HEADER = "Idempotency-Key"
_ATTEMPTS = 3
_IN_PROGRESS_WAIT = 30.0  # seconds to wait for a first attempt the server is still running


def _in_progress(response: httpx.Response) -> bool:
    if response.status_code != 409:
        return False
    try:
        details = orjson.loads(response.content)["error"]["details"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return False
    return isinstance(details, dict) and details.get("idempotency") == "in_progress"


def seg(value: str) -> str:
    """One URL path segment: '/' and everything else special is escaped."""
    return quote(value, safe="")


def chunks(fh: Any) -> Iterator[bytes]:
    while chunk := fh.read(CHUNK):
        yield chunk


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in chunks(fh):
            h.update(chunk)
    return h.hexdigest()


class HttpTransport:
    def __init__(self, url: str, token: str | None) -> None:
        self.url = url.rstrip("/")
        headers = {"User-Agent": "relayml-http"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            self._http = httpx.Client(base_url=self.url, headers=headers, timeout=_TIMEOUT)
        except (httpx.InvalidURL, ValueError) as exc:
            raise InvalidInput(
                f"invalid server URL {url!r} ({exc}); use http://host:port"
            ) from None

    def _unavailable(self, exc: httpx.TransportError) -> ServerUnavailable:
        return ServerUnavailable(
            f"cannot reach the Relay server at {self.url} ({type(exc).__name__}: {exc}); "
            "check RELAY_SERVER_URL and that `relay server` is running there",
            url=self.url,
        )

    def _raise_for(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        response.read()
        try:
            payload = orjson.loads(response.content)["error"]
            err = from_dict(payload)
        except (orjson.JSONDecodeError, KeyError, TypeError):
            text = response.text.strip()[:200] or response.reason_phrase
            cls = ServerUnavailable if response.status_code in (502, 503, 504) else RelayError
            err = cls(
                f"{response.request.method} {response.request.url} failed with HTTP "
                f"{response.status_code}: {text}; is {self.url} a Relay server?",
                status=response.status_code,
            )
        raise err

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        try:
            content = orjson.dumps(json) if json is not None else None
        except TypeError as exc:  # a lone surrogate in text, or a value JSON cannot carry
            raise InvalidInput(f"the request cannot be sent as JSON: {exc}") from None
        headers: dict[str, str] = (
            {"Content-Type": "application/json"} if content is not None else {}
        )
        if method not in _IDEMPOTENT:
            # A request id makes the call safe to send again: the server keeps its answer, so
            # a repeat after a lost answer gets that answer instead of doing the work twice.
            headers[KEY_HEADER] = uuid.uuid4().hex
        if params:
            params = {k: v for k, v in params.items() if v is not None}
        deadline = time.monotonic() + _IN_PROGRESS_WAIT
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    method, path, content=content, headers=headers, params=params
                )
            except UnicodeEncodeError as exc:  # a lone surrogate in a query parameter
                raise InvalidInput(
                    f"the request cannot be sent: {exc.reason} in {exc.object!r:.60}"
                ) from None
            except httpx.TransportError as exc:
                # A pooled keep-alive connection the server (or a proxy) has since closed, or
                # an answer lost on the way back: try again on a fresh connection. Safe for
                # every method: idempotent ones by nature, the others by their request id.
                if attempt >= _ATTEMPTS:
                    raise self._unavailable(exc) from None
                time.sleep(0.05 * attempt)
                continue
            if _in_progress(response) and time.monotonic() < deadline:
                time.sleep(0.1)  # the first attempt is still running on the server
                continue
            break
        self._raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        return orjson.loads(response.content)

    def put_file(self, path: str, local_file: str | os.PathLike[str]) -> Any:
        """Stream a file up with its sha256, which the server checks; returns the JSON reply."""
        headers = {
            wire.DIGEST_HEADER: sha256_file(local_file),
            "Content-Type": "application/octet-stream",
            "Content-Length": str(os.path.getsize(local_file)),
        }
        with open(local_file, "rb") as fh:
            try:
                response = self._http.put(path, content=chunks(fh), headers=headers)
            except httpx.TransportError as exc:
                raise self._unavailable(exc) from None
        self._raise_for(response)
        return orjson.loads(response.content)

    def get_file(
        self,
        path: str,
        dest: str | os.PathLike[str],
        *,
        what: str,
        expected: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> Path:
        """Stream a file down next to `dest`, hashing as it comes, and rename it into place only
        when it matches `expected` (default: the digest the server sends)."""
        dest_path = Path(dest)
        dest_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest_path.with_name(f".{dest_path.name}.{uuid.uuid4().hex}.part")
        try:
            with self._http.stream("GET", path, params=params) as response:
                self._raise_for(response)
                want = expected or response.headers.get(wire.DIGEST_HEADER, "")
                h = hashlib.sha256()
                with open(tmp, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
            if h.hexdigest() != want:
                raise IntegrityError(
                    f"{what} arrived with sha256 {h.hexdigest()}, not the recorded "
                    f"{want or '(none sent)'}; download it again"
                )
            os.replace(tmp, dest_path)
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                raise self._unavailable(exc) from None
            raise IntegrityError(
                f"the download of {what} was cut off ({type(exc).__name__}: {exc}); "
                "nothing was written, try again"
            ) from None
        finally:
            tmp.unlink(missing_ok=True)
        return dest_path

    def close(self) -> None:
        self._http.close()
