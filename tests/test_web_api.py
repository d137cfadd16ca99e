"""The HTTP API over a real index: same results as the CLI, 4xx for bad input, fresh after a re-index."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest
from fastapi.testclient import TestClient

from archive.ingest.pipeline import run_index
from archive.web import create_app
from tests import factory

pytestmark = pytest.mark.both_engines

LINES = ["在全市优化营商环境大会上的讲话", "市政府秘书长  张三", "（2021年3月5日）", "同志们：",
         "我们要坚持“务实奉献、追求卓越”，持续优化营商环境。"]
HOSTILE = ["<script>alert(1)</script>在全市安全生产工作会议上的讲话", "同志们：",
           "要坚持安全第一。<img src=x onerror=alert(2)> &lt;b&gt;粗体&lt;/b&gt;"]


@pytest.fixture
def served(source: Path, index_dir: Path):
    factory.write_docx(source / "a.docx", LINES)
    factory.write_pdf(source / "b.pdf", LINES)
    factory.write_docx(source / "hostile.docx", HOSTILE)
    run_index([source], index_dir)
    with TestClient(create_app(index_dir)) as client:
        yield client, source


def test_search_equals_the_cli(served, cli) -> None:
    client, _ = served
    for query in ('"务实奉献"', "营商环境", '"安全第一" OR "务实奉献"'):
        api = client.get("/api/search", params={"q": query, "limit": 10}).json()
        assert api == cli.json("search", query, "--limit", "10")


def test_search_filters_and_paging(served) -> None:
    client, _ = served
    assert client.get("/api/search", params={"q": "营商环境", "speaker": "张三"}).json()["total"] == 2
    assert client.get("/api/search", params={"q": "营商环境", "year": 2020}).json()["total"] == 0
    page = client.get("/api/search", params={"q": "营商环境", "limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and len(page["hits"]) == 1 and page["offset"] == 1


def test_document_with_its_matches(served) -> None:
    client, _source = served
    hit = client.get("/api/search", params={"q": '"务实奉献"'}).json()["hits"][0]
    doc = client.get(f"/api/documents/{hit['id']}", params={"q": '"务实奉献"'}).json()
    assert doc["path"] == hit["path"] and "务实奉献" in doc["text"]
    assert [p["text"][s:e] for p in doc["passages"] for s, e in p["highlights"]] == ["务实奉献"]


def test_export_download(served) -> None:
    client, _ = served
    response = client.get("/api/export", params={"q": '"务实奉献"', "format": "docx"})
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(response.content)).paragraphs)
    assert "务实奉献" in text and "《在全市优化营商环境大会上的讲话》" in text
    records = client.get("/api/export", params={"q": '"务实奉献"', "format": "json"}).json()
    assert len(records) == 1 and len(records[0]["also_in"]) == 1  # the same paragraph in the docx and the pdf


def test_stats(served) -> None:
    client, _ = served
    stats = client.get("/api/stats").json()
    assert stats["documents"] == 3 and stats["by_year"]["2021"] == 2


@pytest.mark.parametrize("url, status", [
    ("/api/search", 422),
    ("/api/search?q=", 422),
    ("/api/search?q=x&limit=-1", 422),
    ("/api/search?q=x&limit=100000", 422),
    ("/api/search?q=x&sort=size", 422),
    ("/api/search?q=x&year=abc", 422),
    ("/api/search?q=%22unclosed", 400),
    ("/api/search?q=x&since=March", 400),
    ("/api/documents/0000000000000000", 404),
    ("/api/documents/..%2F..%2Fetc%2Fpasswd", 404),
    ("/api/documents/%2Fetc%2Fpasswd", 404),
    ("/api/documents/not-an-id", 422),
    ("/api/export?q=%22nothing-here%22", 400),
    ("/api/export?q=x&format=exe", 422),
    ("/static/../../etc/passwd", 404),
    ("/static/%2e%2e/%2e%2e/etc/passwd", 404),
    ("/etc/passwd", 404),
])
def test_bad_requests_get_4xx_with_a_json_error(served, url: str, status: int) -> None:
    client, _ = served
    response = client.get(url)
    assert response.status_code == status
    assert "error" in response.json() and "Traceback" not in response.text
    assert "root:" not in response.text


def test_document_text_is_data_and_pages_forbid_inline_script(served) -> None:
    client, _ = served
    hit = client.get("/api/search", params={"q": '"安全第一"'}).json()["hits"][0]
    assert hit["title"].startswith("<script>")  # returned as data; the page inserts it as text
    page = client.get("/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    assert "innerHTML" not in client.get("/static/app.js").text


def test_new_documents_show_up_without_a_restart(served, index_dir: Path) -> None:
    client, source = served
    assert client.get("/api/search", params={"q": '"乡村振兴"'}).json()["total"] == 0
    factory.write_docx(source / "new.docx", ["在全市乡村振兴工作会议上的讲话", "同志们：", "全面推进乡村振兴。"])
    run_index([source], index_dir)
    assert client.get("/api/search", params={"q": '"乡村振兴"'}).json()["total"] == 1


def test_no_index_yet_is_a_503_not_a_crash(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "none")) as client:
        response = client.get("/api/search", params={"q": "x"})
        assert response.status_code == 503 and "archive index" in response.json()["error"]


def test_token_is_required_when_set(source: Path, index_dir: Path) -> None:
    factory.write_docx(source / "a.docx", LINES)
    run_index([source], index_dir)
    with TestClient(create_app(index_dir, token="s3cret-token")) as client:
        assert client.get("/api/stats").status_code == 401
        assert client.get("/").status_code == 401
        assert client.get("/api/stats", params={"token": "wrong-token"}).status_code == 401
        assert client.get("/api/stats", params={"token": "s3cret-token"}).status_code == 200
        assert client.get("/api/stats", headers={"Authorization": "Bearer s3cret-token"}).status_code == 200


def test_serve_refuses_a_public_address_without_token(cli) -> None:
    result = cli("serve", "--host", "0.0.0.0", expect=1)
    assert "--token" in result.stderr and "--no-auth" in result.stderr
    assert "at least 8" in cli("serve", "--token", "short", expect=1).stderr


def test_json_errors_never_leak_internals(served) -> None:
    client, _ = served
    body = client.get("/api/search", params={"q": "x", "limit": "many"}).json()
    assert json.dumps(body).count("Traceback") == 0 and body["error"].startswith("bad parameters")


def test_archive_serve_command_answers_over_http(source: Path, index_dir: Path) -> None:
    """The real command: worker processes, a token, a loopback port."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    factory.write_docx(source / "a.docx", LINES)
    run_index([source], index_dir)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "archive", "serve", "--index", str(index_dir), "--port", str(port),
                               "--workers", "2", "--token", "a-long-token"], cwd=Path(__file__).parents[1],
                              stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                response = httpx.get(f"{base}/api/stats", params={"token": "a-long-token"}, timeout=5)
                break
            except httpx.HTTPError:
                assert time.time() < deadline and server.poll() is None, server.stderr.read() if server.poll() else ""
                time.sleep(0.2)
        assert response.json()["documents"] == 1
        assert httpx.get(f"{base}/api/stats", timeout=5).status_code == 401
        found = httpx.get(f"{base}/api/search", params={"q": '"务实奉献"'},
                          headers={"Authorization": "Bearer a-long-token"}, timeout=10).json()
        assert found["total"] == 1
        # DNS rebinding: a page on another site that points its own name at 127.0.0.1 is refused
        rebound = httpx.get(f"{base}/api/stats", params={"token": "a-long-token"},
                            headers={"Host": f"attacker.example:{port}"}, timeout=5)
        assert rebound.status_code == 421 and "host name" in rebound.json()["error"]
        assert httpx.get(f"http://localhost:{port}/api/stats", params={"token": "a-long-token"}, timeout=5).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_host_header_is_checked_against_the_bound_address_and_allowed_names(source: Path, index_dir: Path) -> None:
    from archive.web import policy

    factory.write_docx(source / "a.docx", LINES)
    run_index([source], index_dir)
    rules = policy.decide("127.0.0.1", 8000, None, False, ["archive.office.local"])
    with TestClient(create_app(index_dir, allowed_hosts=rules.allowed_hosts), base_url="http://127.0.0.1:8000") as client:
        assert client.get("/api/stats").status_code == 200
        for good in ("localhost:8000", "[::1]:8000", "ARCHIVE.office.local", "127.0.0.1"):
            assert client.get("/api/stats", headers={"Host": good}).status_code == 200, good
        for bad in ("evil.example", "127.0.0.1.evil.example:8000", "archive.office.local.evil.example"):
            assert client.get("/api/stats", headers={"Host": bad}).status_code == 421, bad
    assert policy.decide("0.0.0.0", 8000, "long-enough", False).allowed_hosts is None
    assert policy.decide("192.168.1.5", 8000, "long-enough", False).allowed_hosts == ("127.0.0.1", "localhost", "::1",
                                                                                       "192.168.1.5")


def test_printed_address_encodes_the_token() -> None:
    from archive.web import policy

    assert policy.decide("::1", 8000, "a b&c=d#e?", False).address == "http://[::1]:8000/?token=a%20b%26c%3Dd%23e%3F"


def test_served_connections_are_tcp_without_nagle_delay() -> None:
    """`archive serve` with several workers listens on a socket it made: the connections it accepts
    must be TCP with TCP_NODELAY, or each response waits ~40 ms for the client's delayed ACK."""
    import socket

    from archive.web import server

    config = server.TcpConfig(server.APP, factory=True, host="127.0.0.1", port=0, workers=2)
    listening = config.bind_socket()
    try:
        listening.listen()
        with socket.create_connection(listening.getsockname()):
            accepted, _ = listening.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        listening.close()
