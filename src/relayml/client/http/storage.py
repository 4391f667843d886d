"""`StorageApi` over REST: the artifact store's housekeeping."""

from __future__ import annotations

from relayml.client.http.binding import Args, Route, post
from relayml.client.http.urls import duration_text


def _gc(a: Args) -> object:
    return {"apply": a["apply"], "grace": duration_text(a["grace"])}


ROUTES: dict[str, Route] = {
    "gc": post("/storage/gc", body=_gc),
}
