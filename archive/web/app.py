"""`archive serve`: the JSON API and the web page, as a FastAPI app.

Safe by default: document text is returned as data and the page only ever inserts it as text (a
Content-Security-Policy forbids inline script as a second line of defence); documents are addressed
by id, never by path, and nothing here reads a file: the index holds everything shown. With a token,
every request must carry it (`Authorization: Bearer …`, or `?token=` for links and downloads).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from archive import __version__
from archive.errors import ArchiveError, IndexMissing
from archive.search import Filters, Location, SpeechIndex, location_of, open_index, state_dir
from archive.tokens import warm_up
from archive.web import memory, policy

STATIC = FilePath(str(resources.files("archive.web").joinpath("static")))
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
MAX_LIMIT = 200

# Request parameters, validated before any code of ours sees them (a bad one is a 422 with a reason).
QueryText = Annotated[str, Query(min_length=1, max_length=500)]
Limit = Annotated[int, Query(ge=0, le=MAX_LIMIT)]
Offset = Annotated[int, Query(ge=0)]
Year = Annotated[int | None, Query(ge=1900, le=2100)]
Sort = Annotated[str, Query(pattern="^(relevance|date)$")]
Text = Annotated[str | None, Query(max_length=200)]
DocId = Annotated[str, Path(pattern="^[0-9a-f]{16}$")]
Format = Annotated[str, Query(pattern="^(docx|md|csv|json)$")]
Context = Annotated[int, Query(ge=0, le=5)]


class _Index:
    """The index, opened on first use and kept open and warm; each request sees the latest commit."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self._index: SpeechIndex | None = None
        self._lock = threading.Lock()

    def get(self) -> SpeechIndex:
        with self._lock:
            if self._index is None:
                self._index = open_index(self.location)  # raises IndexMissing until `archive index` ran
            return self._index

    def close(self) -> None:
        if self._index is not None:
            self._index.close()


class _Guard:
    """Every response gets the security headers; with a token, every request must carry it.

    Plain ASGI: Starlette's @app.middleware("http") wraps each request and response in extra tasks
    and streams, about a millisecond a request.
    """

    def __init__(self, app, token: str | None, allowed_hosts: tuple[str, ...] | None = None,
                 served: Callable[[], None] | None = None) -> None:
        self.app = app
        self.token = token
        self.allowed_hosts = allowed_hosts
        self.served = served  # told after each request

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1") or None
        if not policy.host_allowed(host, self.allowed_hosts):
            response = _error(421, "this server does not answer to that host name: open it by the address it "
                                   "printed, or start it with --allow-host NAME")
            await response(scope, receive, send)
            return
        if self.token is not None and not self._authorised(Request(scope)):
            response = _error(401, "a token is needed: open the address the server printed (it ends in ?token=…)")
            await response(scope, receive, send)
            return

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if self.served is not None:
                self.served()

    def _authorised(self, request: Request) -> bool:
        given = request.query_params.get("token") or ""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        return self.token is not None and secrets.compare_digest(given.encode(), self.token.encode())


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=SECURITY_HEADERS)


MAX_DRAFT_BYTES = 20 * 1024 * 1024


def _draft_text(body: bytes, filename: str | None) -> str:
    """A draft sent to /api/check: JSON text, or a file read as `archive check` reads one."""
    import json
    import tempfile

    from archive.check import read_draft

    if filename is None:
        try:
            text = json.loads(body.decode("utf-8"))["text"]
        except (ValueError, KeyError, TypeError):
            raise StarletteHTTPException(400, 'send the draft as JSON {"text": "…"}, or as a file with ?filename=') from None
        if not isinstance(text, str) or not text.strip():
            raise StarletteHTTPException(400, "the draft is empty")
        return text
    suffix = os.path.splitext(filename)[1].lower()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, f"draft{suffix}")
        with open(path, "wb") as handle:
            handle.write(body)
        return read_draft(path)


APP_INDEX, APP_TOKEN, APP_HOSTS = "ARCHIVE_SERVE_INDEX", "ARCHIVE_SERVE_TOKEN", "ARCHIVE_SERVE_HOSTS"


def app_from_environment() -> FastAPI:
    """The app for each worker process of `archive serve` (which sets these variables)."""
    hosts = os.environ.get(APP_HOSTS)
    return create_app(location_of(os.environ[APP_INDEX], "index"), token=os.environ.get(APP_TOKEN) or None,
                      allowed_hosts=tuple(hosts.split(",")) if hosts else None)


def create_app(location: Location, token: str | None = None, allowed_hosts: tuple[str, ...] | None = None) -> FastAPI:
    """The app; `allowed_hosts` are the Host names it answers to (None: any; see archive.web.policy)."""
    index = _Index(location)

    def warm() -> None:
        # jieba's dictionary takes most of a second to load: a process loads it before it takes
        # requests, not while it answers its first ones (loading it beside them held the
        # interpreter, and a just-started server's searches waited behind it)
        warm_up()
        with contextlib.suppress(ArchiveError):
            index.get().warm()

    trimmer = memory.Trimmer()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        warm()
        trimmer.start()
        yield
        trimmer.stop()
        index.close()

    app = FastAPI(title="讲稿库 archive", version=__version__, docs_url=None, redoc_url=None, lifespan=lifespan)

    app.add_middleware(_Guard, token=token, allowed_hosts=allowed_hosts, served=trimmer.note)
    app.state.trimmer = trimmer

    @app.exception_handler(ArchiveError)
    async def user_error(_: Request, error: ArchiveError):
        return _error(503 if isinstance(error, IndexMissing) else 400, str(error))

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_: Request, error: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors())
        return _error(422, f"bad parameters: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException):
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception):
        return _error(500, f"internal error: {type(error).__name__}")

    @app.get("/api/search")
    def search(q: QueryText, speaker: Text = None, since: Text = None,
               until: Text = None, year: Year = None, sort: Sort = "relevance", limit: Limit = 10,
               offset: Offset = 0) -> JSONResponse:
        """The same results and keys as `archive search --json`."""
        archive = index.get()
        filters = Filters(speaker or None, since or None, until or None, year, sort)
        results = archive.search(q, filters=filters, limit=limit, offset=offset)
        answer = results.to_dict()
        if not results.total:
            from archive.suggest import suggestions

            answer["suggestions"] = suggestions(archive, q)
        return JSONResponse(answer)  # already JSON-ready: skips FastAPI's re-encoding

    @app.get("/api/documents/{doc_id}")
    def document(doc_id: DocId, q: Text = None) -> dict[str, Any]:
        """A document's metadata and text, and with `q` every passage of it that matches."""
        archive = index.get()
        found = archive.document(doc_id)
        if found is None:
            raise StarletteHTTPException(404, "no such document")
        if q:
            found["passages"] = [p.to_dict() for p in archive.passages_of(doc_id, q)]
        return found

    @app.get("/api/export")
    def export(q: QueryText, format: Format = "docx", speaker: Text = None, since: Text = None,
               until: Text = None, year: Year = None, sort: Sort = "date", context: Context = 0) -> Response:
        """A download of the matched passages, as `archive export` writes them."""
        from archive.export import MEDIA_TYPES, collect, write

        result = collect(index.get(), q, Filters(speaker or None, since or None, until or None, year, sort),
                         context=context)
        buffer = io.BytesIO()
        write(result, buffer, format)
        filename = f"讲稿摘录.{format}"
        disposition = f"attachment; filename=\"export.{format}\"; filename*=UTF-8''{quote(filename)}"
        return Response(buffer.getvalue(), media_type=MEDIA_TYPES[format],
                        headers={"Content-Disposition": disposition})

    @app.get("/api/timeline")
    def timeline(q: QueryText, speaker: Text = None, since: Text = None, until: Text = None,
                 year: Year = None) -> dict[str, Any]:
        """The same document as `archive timeline --json`."""
        from archive.timeline import timeline as make_timeline

        return make_timeline(index.get(), q, Filters(speaker or None, since or None, until or None, year)).to_dict()

    @app.post("/api/check")
    async def check_draft(request: Request, filename: Annotated[str | None, Query(max_length=200)] = None,
                          threshold: Annotated[float, Query(gt=0, le=1)] = 0.85) -> JSONResponse:
        """文稿查重: the body is the draft, as JSON `{"text": "…"}`, or the file itself (with
        `filename`, whose suffix says how to read it: .docx, .doc, .wps, .pdf, .txt)."""
        from starlette.concurrency import run_in_threadpool

        body = await request.body()
        if len(body) > MAX_DRAFT_BYTES:
            raise StarletteHTTPException(413, f"the draft is larger than {MAX_DRAFT_BYTES // (1024 * 1024)} MB")
        text = await run_in_threadpool(_draft_text, body, filename)
        from archive.check import check

        report = await run_in_threadpool(check, index.get(), text, threshold=threshold)
        result = report.to_dict()
        result["text"] = text
        return JSONResponse(result)

    @app.get("/api/stats")
    def stats() -> dict[str, Any]:
        from archive.watch import read_status

        counts = index.get().stats()
        follower = read_status(state_dir(location))
        counts["watch"] = None if follower is None else {
            "state": follower.get("state"), "pending": follower.get("pending", 0), "last_run": follower.get("last_run")}
        return counts

    @app.get("/")
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
