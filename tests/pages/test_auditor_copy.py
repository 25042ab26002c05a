"""The auditor's copy and one entity's credential: staff-only downloads of a sealed batch."""

import hashlib
import io
import json
import zipfile

from supervision.draw.verify import verify_bundle


def _zip(client, path: str) -> zipfile.ZipFile:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_the_auditor_copy_verifies_everything_the_public_copy_cannot(browser, drawn_batch) -> None:
    reviewer = browser("reviewer")
    page = reviewer.get(f"/staff/batches/{drawn_batch}").text
    assert f"/api/v1/batches/{drawn_batch}/auditor.zip" in page and "抽取核验凭据" in page
    z = _zip(reviewer, f"/api/v1/batches/{drawn_batch}/auditor.zip")
    names = set(z.namelist())
    assert {f"{drawn_batch}/strata.tsv", f"{drawn_batch}/conflicts.tsv", "verify.py"} <= names
    bundle = json.loads(z.read(f"{drawn_batch}/bundle.json"))
    files = [z.read(f"{drawn_batch}/{n}.tsv") for n in ("pool", "roster", "conflicts", "strata")]
    full = verify_bundle(bundle, *files)
    assert full.ok and full.unchecked == ()
    public = _zip(browser(), f"/api/v1/batches/{drawn_batch}/bundle.zip")
    assert not any(n.endswith(("strata.tsv", "conflicts.tsv")) for n in public.namelist())
    partial = verify_bundle(bundle, files[0], files[1])
    assert partial.ok and partial.unchecked  # the public cannot check the selection per stratum
    # A changed salt in the auditor's strata.tsv is found, and named (its digest is committed).
    line = files[3].split(b"\n")[0].split(b"\t")
    bad = b"\t".join([line[0], line[1], b"0" * 16]) + files[3][files[3].index(b"\n") :]
    tampered = verify_bundle(bundle, files[0], files[1], files[2], bad)
    assert not tampered.ok and "strata.tsv digest differs" in tampered.first_difference


def test_only_staff_readers_download_the_auditor_copy(browser, drawn_batch, app) -> None:
    path = f"/api/v1/batches/{drawn_batch}/auditor.zip"
    assert browser().get(path).status_code == 401
    assert browser("inspector", inspector_badge="65230100002").get(path).status_code == 403
    assert browser("liaison").get(path).status_code == 403
    assert browser("planner").get(path).headers["cache-control"] == "no-store"
    # Written to a temporary file beside the store, sent, and removed: never kept.
    assert not list(app.state.settings.storage_dir.glob(".auditor-*"))


def test_a_credential_lets_the_entity_check_its_own_tag(browser, drawn_batch, city) -> None:
    planner = browser("planner")
    r = planner.get(f"/staff/batches/{drawn_batch}/credential?uscc={city[3].lower()}")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    api = planner.get(f"/api/v1/batches/{drawn_batch}/credentials/{city[3]}").json()
    assert api["ok"] and api["salt"] in r.text and api["tag"] in r.text
    text = f"sr2:S:{city[3]}:{api['stratum']}:{api['salt']}"
    assert hashlib.sha256(text.encode()).hexdigest() == api["tag"]
    pool = _zip(browser(), f"/api/v1/batches/{drawn_batch}/bundle.zip").read(
        f"{drawn_batch}/pool.tsv"
    )
    assert pool.split(b"\n")[api["pool_line"] - 1].split(b"\t")[:2] == [
        city[3].encode(),
        api["tag"].encode(),
    ]
    missing = planner.get(f"/staff/batches/{drawn_batch}/credential?uscc=91350100M000100Y43")
    assert missing.status_code == 404 and "不在批次" in missing.text
    assert (
        browser("inspector", inspector_badge="65230100002")
        .get(f"/staff/batches/{drawn_batch}/credential")
        .status_code
        == 403
    )
    assert browser().get(f"/api/v1/batches/{drawn_batch}/credentials/{city[3]}").status_code == 401
