"""The announced ceremony, on an injected clock: the notice before it, no entropy before it,
a reason after its grace period; beacon draws from real recorded drand rounds served on
loopback — verified, stored as served, drawn — and every way a round can be refused."""

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from supervision.draw.verify import verify_bundle
from supervision.inbox.models import Message
from supervision.planning.jobs import ceremonies, retry_delay
from supervision.planning.models import Batch, CeremonyAttempt, Commitment, Draw
from tests.draw.test_browser_verifier import run_js
from tests.factories import DICE, batch_body

BEACONS = Path(__file__).parent / "beacons"
QUICKNET = json.loads((BEACONS / "quicknet-657413.json").read_text())
DEFAULT = json.loads((BEACONS / "default-3311596.json").read_text())
QUICKNET_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
DEFAULT_HASH = "8990e7a9aaed2ffed73dbd7092123d6f289930540d7651336225dc172e51b2ce"
# When those rounds were published (genesis + (round - 1) · period).
QUICKNET_AT = datetime.fromtimestamp(1692803367 + (657413 - 1) * 3, UTC)
DEFAULT_AT = datetime.fromtimestamp(1595431050 + (3311596 - 1) * 30, UTC)


def count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


@pytest.fixture
def announced(app, planner, login, clock):
    """The real rules (24 h notice, 2 h grace) on the test app; the planner's token outlives
    the days these tests walk through."""
    app.state.settings.ceremony_notice_hours = 24
    app.state.settings.ceremony_grace_hours = 2
    app.state.settings.token_ttl_hours = 24 * 30
    planner.update(login("planner"))
    return clock


def _create(client, planner, code: str, at: datetime, **over) -> None:
    body = batch_body(code, ceremony_at=at.isoformat(), entropy_plan="", **over)
    r = client.post("/api/v1/plans/CJ-2026/batches", json=body, headers=planner)
    assert r.status_code == 201, r.text


def test_a_freeze_closer_than_the_notice_is_refused(client, planner, announced, session) -> None:
    _create(client, planner, "CJ-C1", announced.now() + timedelta(hours=23))
    r = client.post("/api/v1/batches/CJ-C1/freeze", headers=planner)
    assert r.status_code == 409
    assert "前至少 24 小时公示" in r.json()["detail"]["zh"]
    assert session.exec(select(Batch.state).where(Batch.code == "CJ-C1")).one() == "draft"
    assert count(session, Commitment) == 0
    # Moved a day later, the same batch freezes; its announced words were generated.
    body = batch_body("CJ-C1", ceremony_at=(announced.now() + timedelta(hours=24)).isoformat())
    body["entropy_plan"] = ""
    assert client.put("/api/v1/batches/CJ-C1", json=body, headers=planner).status_code == 200
    assert client.post("/api/v1/batches/CJ-C1/freeze", headers=planner).status_code == 200
    public = client.get("/api/v1/batches/CJ-C1").json()
    assert public["entropy_plan"].startswith("2026-11-27 10:00（北京时间）在")
    assert public["ceremony_place"] == "昌吉市市场监督管理局一楼随机抽取室（昌吉市延安北路198号）"


def test_entropy_before_the_ceremony_is_refused_and_changes_nothing(
    client, planner, announced, session
) -> None:
    _create(client, planner, "CJ-C2", announced.now() + timedelta(days=2))
    assert client.post("/api/v1/batches/CJ-C2/freeze", headers=planner).status_code == 200
    announced.advance(days=2, seconds=-1)
    r = client.post("/api/v1/batches/CJ-C2/entropy", json={"entropy": [DICE]}, headers=planner)
    assert r.status_code == 409
    assert (
        r.json()["detail"]["zh"]
        == "抽取仪式尚未开始：将于 2026-11-28 10:00（北京时间） 开放录入熵值"
    )
    assert count(session, Draw) == 0
    assert session.exec(select(Batch.state).where(Batch.code == "CJ-C2")).one() == "frozen"
    # The ceremony page says when entry opens, and offers no form yet.
    page = client.get("/batches/CJ-C2/ceremony").text
    assert "熵值录入将于 2026-11-28 10:00（北京时间） 开放" in page
    announced.advance(seconds=1)
    body = {"entropy": [DICE], "witnesses": [{"name": "马丽", "role": "人大代表"}]}
    r = client.post("/api/v1/batches/CJ-C2/entropy", json=body, headers=planner)
    assert r.status_code == 200, r.text
    public = client.get("/api/v1/batches/CJ-C2").json()
    assert public["witnesses"] == [{"name": "马丽", "role": "人大代表"}]
    assert public["late_reason"] is None


def test_a_late_entropy_needs_a_reason_which_is_published(
    client, planner, announced, session
) -> None:
    _create(client, planner, "CJ-C3", announced.now() + timedelta(days=2))
    assert client.post("/api/v1/batches/CJ-C3/freeze", headers=planner).status_code == 200
    announced.advance(days=2, hours=2, minutes=1)
    for reason in (None, "", "停电"):  # none, empty, too short
        r = client.post(
            "/api/v1/batches/CJ-C3/entropy",
            json={"entropy": [DICE], "late_reason": reason},
            headers=planner,
        )
        assert r.status_code == 400, reason
        assert "须说明迟延原因" in r.json()["detail"]["zh"]
    assert count(session, Draw) == 0
    reason = "仪式当天全市停电，经公告顺延两小时"
    r = client.post(
        "/api/v1/batches/CJ-C3/entropy",
        json={"entropy": [DICE], "late_reason": reason},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/batches/CJ-C3").json()["late_reason"] == reason
    bundle = client.get("/api/v1/batches/CJ-C3/bundle.json").json()
    assert bundle["meta"]["ceremony"]["late_reason"] == reason
    assert reason in client.get("/batches/CJ-C3/ceremony").text


def test_bad_ceremony_input_is_refused(client, planner, announced) -> None:
    at = (announced.now() + timedelta(days=2)).isoformat()
    cases = [
        ({"ceremony_at": None}, 422),
        ({"ceremony_at": "明天"}, 422),
        ({"entropy_source": "coin"}, 422),
        ({"entropy_source": "beacon"}, 400),  # no chain named
        ({"entropy_source": "beacon", "beacon_chain": "nonet"}, 400),
        ({"beacon_chain": "quicknet"}, 400),  # a chain without a beacon source
        ({"ceremony_place": "一楼\n大厅"}, 422),
        ({"freeze_at": at}, 422),  # not before the ceremony
        ({"entropy_plan": "掷骰子 drand-beacon chain=" + "0" * 64 + " round=1"}, 422),
    ]
    for n, (over, status) in enumerate(cases):
        body = batch_body(f"CJ-BAD{n}", ceremony_at=at)
        body.update(over)
        if body["ceremony_at"] is None:
            del body["ceremony_at"]
        r = client.post("/api/v1/plans/CJ-2026/batches", json=body, headers=planner)
        assert r.status_code == status, (over, r.text)
    witnesses = [{"name": "", "role": "x"}]
    r = client.post(
        "/api/v1/batches/NOPE/entropy",
        json={"entropy": [DICE], "witnesses": witnesses},
        headers=planner,
    )
    assert r.status_code == 422


# ---- beacon draws ---------------------------------------------------------------------------


class StubBeacon:
    """drand's HTTP JSON on loopback: serves recorded rounds, or what a test tells it to."""

    def __init__(self) -> None:
        self.rounds: dict[tuple[str, int], str] = {}
        self.requests: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                stub.requests.append(self.path)
                parts = self.path.strip("/").split("/")
                body = None
                if len(parts) == 3 and parts[1] == "public" and parts[2].isdigit():
                    body = stub.rounds.get((parts[0], int(parts[2])))
                if body is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def beacon(app):
    stub = StubBeacon()
    app.state.settings.beacon_endpoint = stub.url
    app.state.settings.beacon_timeout_seconds = 2
    yield stub
    stub.close()


def _beacon_batch(client, planner, clock, code: str, chain: str, round_at: datetime) -> None:
    clock.at = round_at - timedelta(hours=25)
    _create(client, planner, code, round_at, entropy_source="beacon", beacon_chain=chain)
    r = client.post(f"/api/v1/batches/{code}/freeze", headers=planner)
    assert r.status_code == 200, r.text


def _tick(app, session: Session, clock) -> list[dict]:
    return ceremonies(session, clock, app.state.settings)["steps"]


@pytest.mark.parametrize(
    ("chain", "recorded", "chain_hash", "round_at"),
    [
        ("quicknet", QUICKNET, QUICKNET_HASH, QUICKNET_AT),
        ("default", DEFAULT, DEFAULT_HASH, DEFAULT_AT),
    ],
)
def test_a_beacon_draw_uses_the_committed_round_verified_and_stored_as_served(
    client,
    planner,
    announced,
    beacon,
    session,
    app,
    chain,
    recorded,
    chain_hash,
    round_at,
    tmp_path,
) -> None:
    _beacon_batch(client, planner, announced, "CJ-B1", chain, round_at)
    params = client.get("/api/v1/batches/CJ-B1").json()["commitments"][0]["params"]
    # The chain, its key and the round are committed, inside the entropy plan.
    assert f"drand-beacon chain={chain_hash} round={recorded['round']} " in params["entropy_plan"]
    # Typed entropy is refused for a beacon batch, even at the ceremony.
    announced.at = round_at
    r = client.post("/api/v1/batches/CJ-B1/entropy", json={"entropy": [DICE]}, headers=planner)
    assert r.status_code == 409 and "信标" in r.json()["detail"]["zh"]
    # Before the round is out nothing is fetched.
    announced.at = round_at - timedelta(seconds=1)
    assert _tick(app, session, announced) == []
    assert beacon.requests == []
    served = json.dumps(recorded, indent=2)  # whatever the server's layout: kept verbatim
    beacon.rounds[(chain_hash, recorded["round"])] = served
    announced.at = round_at + timedelta(seconds=5)
    steps = _tick(app, session, announced)
    assert steps == [
        {
            "batch": "CJ-B1",
            "action": "beacon",
            "ok": True,
            "round": recorded["round"],
            "seed": steps[0]["seed"],
        }
    ]
    assert beacon.requests == [f"/{chain_hash}/public/{recorded['round']}"]
    draw = session.exec(select(Draw)).one()
    assert draw.beacon_json == served and draw.drawn_by == "scheduler"
    entropy = json.loads(draw.entropy_json)
    assert entropy == [
        f"drand {chain_hash} round {recorded['round']} randomness {recorded['randomness']}"
    ]
    # The public bundle carries the round as served; the verifier checks it, signature too.
    bundle = client.get("/api/v1/batches/CJ-B1/bundle.json").json()
    assert bundle["beacon"] == served
    pool = client.get("/api/v1/batches/CJ-B1/files/pool.tsv").content
    roster = client.get("/api/v1/batches/CJ-B1/files/roster.tsv").content
    result = verify_bundle(bundle, pool, roster)
    assert result.ok, result.first_difference
    assert any("BLS signature verifies" in step for step in result.details)
    forged = json.loads(served)
    forged["randomness"] = "0" * 64
    tampered = {**bundle, "beacon": json.dumps(forged)}
    assert "not SHA-256 of its signature" in verify_bundle(tampered, pool, roster).first_difference
    # The in-browser verifier (a second implementation) agrees, and says what it cannot check.
    jobs = []
    for name, data in (("good", bundle), ("tampered", tampered)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "bundle.json").write_text(json.dumps(data, ensure_ascii=False))
        (folder / "pool.tsv").write_bytes(pool)
        (folder / "roster.tsv").write_bytes(roster)
        jobs.append({"op": "verify", "dir": str(folder), "conflicts": False})
    good, bad = run_js(jobs)
    assert good["ok"], good["difference"]
    assert any(f"drand 信标第 {recorded['round']} 轮" in p for p in good["passed"])
    assert any("BLS 签名" in u for u in good["unchecked"])
    assert not bad["ok"] and "不是其签名的 SHA-256" in bad["difference"]
    # A second tick does nothing.
    assert _tick(app, session, announced) == []


def _forged(recorded: dict) -> str:
    """Another valid-looking G1 point is hard to make by hand: flip the signature's last byte
    and recompute the randomness, so only the BLS check can tell."""
    import hashlib

    signature = recorded["signature"][:-2] + ("00" if recorded["signature"][-2:] != "00" else "01")
    randomness = hashlib.sha256(bytes.fromhex(signature)).hexdigest()
    return json.dumps({**recorded, "signature": signature, "randomness": randomness})


@pytest.mark.parametrize("failure", ["forged", "wrong_round", "unreachable", "not_yet"])
def test_a_bad_or_missing_round_refuses_to_draw_and_alerts(
    client, planner, announced, beacon, session, app, failure
) -> None:
    _beacon_batch(client, planner, announced, "CJ-B2", "quicknet", QUICKNET_AT)
    key = (QUICKNET_HASH, QUICKNET["round"])
    if failure == "forged":
        beacon.rounds[key] = _forged(QUICKNET)
    elif failure == "wrong_round":  # the server answers with another round's record
        beacon.rounds[key] = json.dumps({**QUICKNET, "round": QUICKNET["round"] + 1})
    elif failure == "unreachable":
        beacon.close()
    announced.at = QUICKNET_AT + timedelta(seconds=5)
    steps = _tick(app, session, announced)
    assert len(steps) == 1 and steps[0]["ok"] is False
    expected = {
        "forged": "BLS 签名不能用承诺的公钥验证",
        "wrong_round": "the commitment names 657413",
        "unreachable": "无法连接信标服务",
        "not_yet": "尚未发布",
    }[failure]
    assert expected in steps[0]["why"], steps
    assert count(session, Draw) == 0
    assert session.exec(select(Batch.state).where(Batch.code == "CJ-B2")).one() == "frozen"
    alert = session.exec(select(Message).where(Message.kind == "ceremony")).first()
    assert alert is not None and "CJ-B2" in alert.subject and expected in alert.body
    # Backoff: the next tick within the delay tries nothing; after it, it tries again.
    assert _tick(app, session, announced) == []
    announced.advance(seconds=retry_delay(1).total_seconds() + 1)
    if failure in ("not_yet",):
        beacon.rounds[key] = json.dumps(QUICKNET)  # now published: the retry draws
        assert _tick(app, session, announced)[0]["ok"] is True
        assert count(session, Draw) == 1
    else:
        assert _tick(app, session, announced)[0]["ok"] is False
        assert count(session, Draw) == 0
    attempts = session.exec(select(CeremonyAttempt.ok).order_by(CeremonyAttempt.id)).all()
    assert attempts[0] is False and len(attempts) == 2


def test_a_withdrawn_beacon_batch_is_not_drawn_and_the_job_says_why(
    client, planner, announced, beacon, session, app
) -> None:
    _beacon_batch(client, planner, announced, "CJ-B3", "quicknet", QUICKNET_AT)
    r = client.post(
        "/api/v1/batches/CJ-B3/withdraw-commitment",
        json={"reason": "检查事项调整，重新公告"},
        headers=planner,
    )
    assert r.status_code == 200, r.text
    beacon.rounds[(QUICKNET_HASH, QUICKNET["round"])] = json.dumps(QUICKNET)
    announced.at = QUICKNET_AT + timedelta(seconds=5)
    steps = _tick(app, session, announced)
    assert len(steps) == 1 and steps[0]["ok"] is None
    assert (
        "已于" in steps[0]["why"] and "公开撤回" in steps[0]["why"] and "不抽取" in steps[0]["why"]
    )
    assert beacon.requests == [] and count(session, Draw) == 0
    assert _tick(app, session, announced) == []  # said once


def test_a_scheduled_freeze_runs_at_its_time(client, planner, announced, session, app) -> None:
    at = announced.now() + timedelta(days=3)
    freeze_at = announced.now() + timedelta(days=1)
    _create(client, planner, "CJ-F1", at, freeze_at=freeze_at.isoformat())
    assert _tick(app, session, announced) == []
    announced.at = freeze_at
    assert _tick(app, session, announced) == [{"batch": "CJ-F1", "action": "freeze", "ok": True}]
    assert session.exec(select(Batch.state).where(Batch.code == "CJ-F1")).one() == "frozen"
    # One whose announced freeze would break the notice is refused once, and said.
    _create(client, planner, "CJ-F2", at, freeze_at=(at - timedelta(hours=1)).isoformat())
    announced.at = at - timedelta(hours=1)
    steps = _tick(app, session, announced)
    assert steps[0]["batch"] == "CJ-F2" and steps[0]["ok"] is False
    assert "前至少 24 小时公示" in steps[0]["why"]
    assert _tick(app, session, announced) == []
