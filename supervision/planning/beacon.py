"""Fetching a committed beacon round and checking it before it may decide a draw.

The endpoint speaks drand's HTTP JSON (`GET {endpoint}/{chain hash}/public/{round}`). A round
is used only when it is the committed round of the committed chain, its randomness is SHA-256
of its signature, and its BLS signature verifies against the committed public key
(drand-verify). Anything else — unreachable, not yet published, another round, a forged
signature — refuses to draw; the scheduler tries again later and says so.
"""

import json
import urllib.error
import urllib.request
from typing import Any

from supervision.draw import sr1
from supervision.planning.ceremony import BeaconRound

MAX_ROUND_BYTES = 64 * 1024


class BeaconUnavailable(Exception):
    """The round could not be had now (network, not yet published): try again later."""


class BeaconRejected(Exception):
    """The round was served but is not the committed one, or does not verify: never use it."""


def round_url(endpoint: str, beacon: BeaconRound) -> str:
    return f"{endpoint.rstrip('/')}/{beacon.chain_hash}/public/{beacon.round}"


def fetch_round(endpoint: str, beacon: BeaconRound, timeout: float) -> str:
    """The round's JSON text exactly as served."""
    url = round_url(endpoint, beacon)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_ROUND_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 425):
            raise BeaconUnavailable(
                f"信标第 {beacon.round} 轮尚未发布（HTTP {exc.code}）"
            ) from None
        raise BeaconUnavailable(f"信标服务返回 HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise BeaconUnavailable(f"无法连接信标服务 {endpoint}：{reason}") from None
    if len(body) > MAX_ROUND_BYTES:
        raise BeaconRejected("信标服务返回的内容过大")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise BeaconRejected("信标服务返回的内容不是 UTF-8 文本") from None


def check_round(beacon: BeaconRound, served: str) -> str:
    """The entropy string the served round fixes, after every check; raises BeaconRejected."""
    try:
        data: Any = json.loads(served)
    except ValueError:
        raise BeaconRejected("信标服务返回的内容不是 JSON") from None
    try:
        entropy = sr1.check_beacon_round(beacon.plan(), data)
    except sr1.BeaconError as exc:
        raise BeaconRejected(f"信标轮次与承诺不符：{exc}") from None
    if not verify_signature(beacon, data):
        raise BeaconRejected(
            f"第 {beacon.round} 轮的 BLS 签名不能用承诺的公钥验证：可能是伪造的轮次，拒绝抽取"
        )
    return entropy


def verify_signature(beacon: BeaconRound, data: dict[str, Any]) -> bool:
    import drand_verify

    try:
        if beacon.scheme == "pedersen-bls-chained":
            drand_verify.verify_pedersen_bls_chained(
                beacon.round,
                str(data.get("previous_signature") or ""),
                data["signature"],
                beacon.public_key,
            )
        else:
            drand_verify.verify_bls_unchained_g1_rfc9380(
                beacon.round, data["signature"], beacon.public_key
            )
    except (ValueError, TypeError, KeyError):
        return False
    return True
