"""A recording reverse proxy in front of the API server: which (resource, verb) did the operator really use?

The operator's kubeconfig points at the proxy (plain HTTP on 127.0.0.1); requests, the ServiceAccount's bearer
token included, are passed on to the API server over TLS, and responses (watch streams too) are streamed back.
Each request is recorded as Kubernetes' authorizer would name it (a server-side apply answered 201 Created
was also authorized as `create`), so the RBAC the chart grants can be compared
with what is used: granted but never used is a candidate for removal.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}


def authorizer_view(method: str, url: str) -> tuple[str, str] | None:
    """(resource, verb) the way `kubectl auth can-i --list` prints them; None for discovery and non-resource URLs."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if segments[:1] == ["api"] and len(segments) >= 2:
        group, rest = "", segments[2:]
    elif segments[:1] == ["apis"] and len(segments) >= 3:
        group, rest = segments[1], segments[3:]
    else:
        return None
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]  # namespaced: /namespaces/NS/RESOURCE[/NAME[/SUB]]
    if not rest:
        return None
    resource = rest[0] + (f".{group}" if group else "") + (f"/{rest[2]}" if len(rest) > 2 else "")
    named = len(rest) > 1
    watch = parse_qs(parts.query).get("watch", ["false"])[0] in ("true", "1")
    verb = {
        "GET": "get" if named else ("watch" if watch else "list"),
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if named else "deletecollection",
    }.get(method.upper(), method.lower())
    return resource, verb


class RecordingProxy:
    """Run with `with RecordingProxy(server, ca_pem) as proxy:`; `proxy.url` is what the kubeconfig points at."""

    def __init__(self, upstream: str, ca_pem: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.tls = ssl.create_default_context(cadata=ca_pem)
        self.requests: list[tuple[str, str, int]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="apiproxy", daemon=True)
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def __exit__(self, *_: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> str:
        self._session = aiohttp.ClientSession(auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        # Upstream first: that ends the watch streams still held open, so their handlers return at once.
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        async with self._session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body or None, ssl=self.tls
        ) as upstream:
            self.requests.append((request.method, request.path_qs, upstream.status))
            response = web.StreamResponse(
                status=upstream.status,
                headers={k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP},
            )
            await response.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
                await response.write_eof()
            except (ConnectionResetError, aiohttp.ClientError, asyncio.CancelledError):
                pass  # the client went away (the operator stopped) mid-watch
            return response

    def used(self, statuses: Iterable[int] | None = None) -> set[tuple[str, str]]:
        """Every (resource, verb) requested (only those answered with one of `statuses`, if given)."""
        wanted = set(statuses) if statuses is not None else None
        found = set()
        for method, url, status in list(self.requests):
            view = authorizer_view(method, url)
            if view and (wanted is None or status in wanted):
                found.add(view)
                if method == "PATCH" and status == 201:
                    # a server-side apply that created the object: authorized as `create` too
                    found.add((view[0], "create"))
        return found
