"""devserver/routes/web_console.py without a browser: built or not, the console's routes and the API's routes coexist."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from devserver.routes.web_console import WEB_DIST, web_console_routes

ROOT = Path(__file__).resolve().parents[2]


def app_with(dist: Path) -> Starlette:
    async def api(_request: Request) -> JSONResponse:
        return JSONResponse({"api": True})

    return Starlette(routes=[Route("/graphql", api, methods=["POST"]), Route("/amplify_outputs.json", api), *web_console_routes(dist)])


async def call(app: Starlette, path: str, method: str = "GET", kind: str = "http") -> tuple[int, dict[str, str], str]:
    """One request through the ASGI app (no HTTP client needed)."""
    sent: list[dict[str, Any]] = []
    scope = {"type": kind, "method": method, "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [(b"host", b"testserver")], "scheme": "http" if kind == "http" else "ws", "server": ("testserver", 80),
             "client": ("127.0.0.1", 1), "http_version": "1.1", "asgi": {"version": "3.0"}}
    if kind == "websocket":
        scope["subprotocols"] = []
    incoming = [{"type": "websocket.connect"}] if kind == "websocket" else [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await asyncio.Future()  # the client stays connected until the response is sent
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if kind == "websocket":
        return (sent[0]["code"] if sent[0]["type"] == "websocket.close" else 0), {}, ""
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body.decode()


async def test_not_built_says_how_to_build(tmp_path: Path) -> None:
    app = app_with(tmp_path / "dist")
    status, _, text = await call(app, "/")
    assert status == 503
    assert "make dev" in text
    assert "npm run build" in text
    assert (await call(app, "/assets/app.js"))[0] == 404
    assert (await call(app, "/amplify_outputs.json"))[2] == '{"api":true}'
    assert (await call(app, "/graphql", "POST"))[2] == '{"api":true}'


async def test_built_app_is_served_with_cache_headers(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>console</title>")
    (dist / "assets" / "index-abc.js").write_text("console.log(1)")
    app = app_with(dist)
    status, headers, text = await call(app, "/")
    assert status == 200
    assert "<title>console</title>" in text
    assert headers["cache-control"] == "no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    status, headers, _ = await call(app, "/assets/index-abc.js")
    assert status == 200
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert (await call(app, "/missing.js"))[0] == 404
    assert (await call(app, "/graphql", "POST"))[2] == '{"api":true}'  # the API keeps precedence over the catch-all
    assert (await call(app, "/", "POST"))[0] == 405


async def test_websockets_to_unknown_paths_are_refused(tmp_path: Path) -> None:
    code, _, _ = await call(app_with(tmp_path / "dist"), "/nowhere", kind="websocket")
    assert code == 1008


def test_by_default_it_serves_the_repositorys_own_web_dist() -> None:
    # The module sits two folders below the repository root (devserver/routes/); a move must not
    # leave it pointing at a web/dist that does not exist.
    assert WEB_DIST == ROOT / "web" / "dist"
