"""The web console (``web/``, built to ``web/dist``) served by the local server at ``/``.

Served over the same origin as ``/graphql`` and ``/amplify_outputs.json``, so with ``--tls`` the page is
HTTPS with the local certificate, which Amplify needs because it always dials ``wss://``. Routes listed
before this mount (``/graphql*``, ``/health``, ``/amplify_outputs.json``) keep precedence: it is a
catch-all for everything else. If the app is not built, ``/`` says how to build it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>appsync-jobs console: not built</title></head>
<body><main>
<h1>The web console is not built yet</h1>
<p>The API is up: <a href="/graphql">/graphql</a>, <a href="/amplify_outputs.json">/amplify_outputs.json</a>.</p>
<p>Build the console with <code>make dev</code> (it builds <code>web/dist</code> when missing), or run
<code>npm ci &amp;&amp; npm run build</code> in the repository, then reload this page.</p>
</main></body></html>
"""

# Vite fingerprints everything under assets/, so those may be cached for good; the page itself never is.
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


class WebConsole:
    """ASGI app for ``web/dist``; it looks for the build per request, so building after start works."""

    def __init__(self, dist: Path = WEB_DIST) -> None:
        self.dist = dist
        self.files = StaticFiles(directory=dist, html=True, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: a 403 to the client
            return
        if scope["type"] != "http":
            return
        if not (self.dist / "index.html").is_file():
            response: Response = (
                HTMLResponse(NOT_BUILT, status_code=503) if scope["path"] in {"/", "/index.html"}
                else PlainTextResponse("Not Found", status_code=404)
            )
            await response(scope, receive, send)
            return
        cache = IMMUTABLE if scope["path"].startswith("/assets/") else REVALIDATE

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers += [(b"cache-control", cache), (b"x-content-type-options", b"nosniff")]
                message = {**message, "headers": headers}
            await send(message)

        await self.files(scope, receive, send_with_headers)


def web_console_routes(dist: Path = WEB_DIST) -> list[BaseRoute]:
    """The console as a catch-all mount: list it after the API routes."""
    return [Mount("/", app=WebConsole(dist), name="web-console")]
