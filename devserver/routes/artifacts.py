"""``GET``/``PUT /artifacts/<key>``: the local stand-in for S3 presigned URLs.

A request must carry a URL minted by the resolvers (``job(id)`` for downloads, ``createUpload`` for
uploads): signed for this method and key, unexpired, and for a PUT with the signed content type and
exactly the signed size. Anything else gets 403 with an S3-style XML error, and nothing is written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from jobcore.adapters.local_artifacts import LocalArtifactStore, UrlRefused


def _error(status: int, code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status_code=status, media_type="application/xml")


def artifact_routes(store: LocalArtifactStore) -> list[BaseRoute]:
    async def get(request: Request) -> Response:
        key = request.path_params["key"]
        try:
            store.verify("GET", key, dict(request.query_params))
        except UrlRefused as exc:
            return _error(403, "AccessDenied", str(exc))
        info = store.head(key)
        if info is None:
            return _error(404, "NoSuchKey", "The specified key does not exist.")
        name = key.rsplit("/", 1)[-1]
        return FileResponse(store.path(key), media_type=info.content_type,
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})

    async def put(request: Request) -> Response:
        key = request.path_params["key"]
        query = dict(request.query_params)
        try:
            store.verify("PUT", key, query)
        except UrlRefused as exc:
            return _error(403, "AccessDenied", str(exc))
        content_type = query.get("X-Content-Type", "")
        if request.headers.get("content-type", "") != content_type:
            return _error(403, "SignatureDoesNotMatch", "Content-Type differs from the signed one")
        expected = int(query.get("X-Size", "0"))
        temp = store.root / f"incoming.{secrets.token_hex(8)}.tmp"
        temp.parent.mkdir(parents=True, exist_ok=True)
        received = 0
        try:
            with temp.open("wb") as handle:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > expected:
                        return _error(400, "EntityTooLarge", f"the upload was signed for {expected} bytes")
                    handle.write(chunk)
            if received != expected:
                return _error(400, "IncompleteBody", f"received {received} bytes; the upload was signed for {expected}")
            store.put_file(key, Path(temp), content_type)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
        return Response(status_code=200, headers={"ETag": f'"{secrets.token_hex(16)}"'})

    return [
        Route("/artifacts/{key:path}", get, methods=["GET", "HEAD"]),
        Route("/artifacts/{key:path}", put, methods=["PUT"]),
    ]
