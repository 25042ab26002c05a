"""Request bodies on a real server (uvicorn, a real socket): a chunked upload past the limit is
answered 413 while it streams — the client is stopped long before it has sent it all — and no
temporary file is left behind; an anonymous one is refused before any of it is read."""

import http.client
import json
import os
import tempfile
import urllib.parse

import pytest

from tests.e2e.conftest import PLANNER, Server

pytestmark = pytest.mark.e2e
CHUNK = b"x" * (1 << 20)


def _stream(server: Server, path: str, headers: dict[str, str], megabytes: int) -> tuple[int, int]:
    """Send a chunked multipart body of ``megabytes`` MB; (status, MB actually sent)."""
    url = urllib.parse.urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    conn.putrequest("POST", path)
    for name, value in {
        "Transfer-Encoding": "chunked",
        "Content-Type": "multipart/form-data; boundary=b",
        **headers,
    }.items():
        conn.putheader(name, value)
    conn.endheaders()
    sent = 0
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    try:
        conn.send(b"%x\r\n%s\r\n" % (len(head), head))
        for _ in range(megabytes):
            conn.send(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK))
            sent += 1
        conn.send(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed: stop sending, as a browser does
    status = conn.getresponse().status
    conn.close()
    return status, sent


def test_a_chunked_upload_past_the_limit_is_stopped_while_it_streams(server: Server) -> None:
    server.app.state.settings.upload_max_bytes = 8 << 20
    before = set(os.listdir(tempfile.gettempdir()))
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(server.url).netloc, timeout=30)
    form = urllib.parse.urlencode({"username": PLANNER[0], "password": PLANNER[1]})
    conn.request(
        "POST", "/api/v1/auth/token", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    token = json.loads(conn.getresponse().read())["access_token"]
    conn.close()
    status, sent = _stream(
        server, "/api/v1/import/entities", {"Authorization": f"Bearer {token}"}, 300
    )
    assert status == 413 and sent < 100, (status, sent)
    assert set(os.listdir(tempfile.gettempdir())) - before == set()
    # Without any credential, the upload is refused before it is read.
    status, sent = _stream(server, "/api/v1/import/entities", {}, 300)
    assert status == 401 and sent < 100, (status, sent)
