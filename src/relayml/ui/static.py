"""Scripts and styles, from the wheel: ours from `ui/static`, Plotly's from the plotly wheel.

Nothing is fetched from another host, so the UI works air-gapped. Files are read once and kept
in memory with their ETag (the digest of their bytes); a browser that has the file gets a 304,
and the URL carries the Relay version, so an upgrade is fetched anew. A browser that accepts
gzip gets the file compressed (once, then kept): Plotly's 4.6 MB travel as 1.4 MB
(benchmarks/RESULTS.md, ui).
"""

from __future__ import annotations

import gzip
import hashlib
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
OURS = ("relay.css", "relay.js", "charts.js")
"""Our files under ui/static (an allow-list: no path from the URL reaches the file system)."""


@cache
def _file(name: str) -> tuple[bytes, str] | None:
    if name in OURS:
        data = resources.files("relayml.ui").joinpath("static", name).read_bytes()
    elif name == "vendor/plotly.min.js":
        data = resources.files("plotly").joinpath("package_data", "plotly.min.js").read_bytes()
    else:
        return None
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@cache
def _gzipped(name: str) -> bytes:
    found = _file(name)
    assert found is not None
    return gzip.compress(found[0], compresslevel=9, mtime=0)


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def serve(request: Request) -> Response:
    name = request.path_params["name"]
    found = _file(name)
    if found is None:
        return Response("no such file", status_code=404, media_type="text/plain")
    data, etag = found
    compress = _accepts_gzip(request)
    if compress:  # another representation, another tag
        etag = etag[:-1] + '-gz"'
    headers = {
        "ETag": etag,
        "Cache-Control": "public, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if compress:
        data = _gzipped(name)
        headers["Content-Encoding"] = "gzip"
    media = _TYPES[name[name.rfind(".") :]]
    return Response(data, media_type=media, headers=headers)


def routes() -> list[Route]:
    return [Route("/static/{name:path}", serve, methods=["GET"])]
