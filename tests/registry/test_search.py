"""The portal's entity search: codes, fragments of any length, ranking, typos, and the index
kept in step with the registry inside the writer's own transaction."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, text
from sqlmodel import Session

from supervision.registry import search
from supervision.registry.models import Entity
from tests.factories import small_city

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _entity(uscc: str, name: str) -> dict:
    return {
        "uscc": uscc,
        "uscc_check_ok": True,
        "name": name,
        "entity_type": "enterprise",
        "legal_rep": "王五",
        "registered_address": "昌吉市",
        "region_code": "652301",
        "industry_code": "F51",
        "registration_authority": "昌吉市市场监督管理局",
        "supervising_unit": "652301-01",
        "established_on": date(2018, 3, 1),
        "status": "active",
        "risk_class": "D",
        "phone": "13900000001",
        "legal_rep_id_no": "652301198001010099",
        "created_at": NOW,
        "updated_at": NOW,
    }


NAMES = {
    "91652301MA00000001": "昌吉市天山乳业有限公司",
    "91652301MA00000002": "昌吉市天山乳业有限公司第一分公司",
    "91652301MA00000003": "新疆庭州葡萄酒庄园有限责任公司",
    "92652301MA00000004": "昌吉市阿依古丽馕饼店",
    "91652301MA00000005": "天山",
}


@pytest.fixture
def city(session: Session) -> Session:
    from supervision.clock import FixedClock

    small_city(session, FixedClock(NOW), entities=40)
    session.execute(insert(Entity), [_entity(u, n) for u, n in NAMES.items()])
    session.flush()
    return session


def _names(page: search.SearchPage) -> list[str]:
    return [h.name for h in page.hits]


def test_a_full_code_finds_its_entity(city: Session) -> None:
    page = search.search(city, "91652301MA00000003")
    assert page.how == "code" and _names(page) == ["新疆庭州葡萄酒庄园有限责任公司"]
    # Typed with full-width characters and spaces, as people paste from documents.
    page = search.search(city, " ９１６５２３０１ＭＡ０００００００３ ")
    assert _names(page) == ["新疆庭州葡萄酒庄园有限责任公司"]


def test_the_beginning_of_a_code_lists_the_codes_that_start_so(city: Session) -> None:
    page = search.search(city, "91652301ma0000000")
    assert page.how == "code" and page.total == 4
    assert [h.uscc for h in page.hits] == sorted(u for u in NAMES if u.startswith("91"))


@pytest.mark.parametrize("fragment", ["馕", "古丽", "葡萄酒", "庭州葡萄"])
def test_any_fragment_of_a_name_finds_it(city: Session, fragment: str) -> None:
    names = _names(search.search(city, fragment))
    assert any(fragment in n for n in names)
    assert all(fragment in n for n in names)


def test_the_exact_name_ranks_first_then_the_closest(city: Session) -> None:
    page = search.search(city, "天山")
    assert page.how == "short" and _names(page)[0] == "天山"
    page = search.search(city, "天山乳业有限公司")
    assert page.how == "ranked"
    assert _names(page) == ["昌吉市天山乳业有限公司", "昌吉市天山乳业有限公司第一分公司"]


def test_a_mistyped_character_still_finds_the_business(city: Session) -> None:
    page = search.search(city, "庭州葡萄洒庄园")  # 洒 for 酒
    assert page.how == "similar"
    assert "新疆庭州葡萄酒庄园有限责任公司" in _names(page)


def test_a_common_fragment_is_counted_up_to_the_cap_and_paged(city: Session) -> None:
    page1 = search.search(city, "有限公司", per_page=10)
    assert page1.total == 42 and not page1.capped and len(page1.hits) == 10
    page5 = search.search(city, "有限公司", page=5, per_page=10)
    assert len(page5.hits) == 2
    seen = {
        h.uscc
        for p in range(1, 6)
        for h in search.search(city, "有限公司", page=p, per_page=10).hits
    }
    assert len(seen) == 42  # pages neither repeat nor skip


def test_the_count_stops_at_the_cap(city: Session, monkeypatch) -> None:
    monkeypatch.setattr(search, "COUNT_CAP", 30)
    page = search.search(city, "测试商贸")
    assert page.capped and page.total == 30 and page.how == "ordered"
    page = search.search(city, "测")
    assert page.capped and page.total == 30


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '" OR 1=1 --',
        "*",
        "NEAR(a b)",
        "%",
        "_",
        "\\",
        "'; DROP TABLE entity; --",
        "\x00\x01",
        "a" * 5000,
        "　",
        "AND",
        "^天山",
    ],
)
def test_hostile_queries_find_nothing_or_plain_text_and_never_fail(
    city: Session, hostile: str
) -> None:
    page = search.search(city, hostile)
    assert (
        all(
            search.normalize(hostile).strip('"') in n or page.how == "similar" for n in _names(page)
        )
        or not page.hits
    )
    assert city.execute(text("SELECT count(*) FROM entity")).scalar_one() == 45


def test_the_index_follows_inserts_renames_deletes_and_rollbacks(city: Session) -> None:
    assert not search.search(city, "葫芦娃").hits
    city.execute(insert(Entity), [_entity("91652301MA00000009", "昌吉市葫芦娃玩具店")])
    assert _names(search.search(city, "葫芦娃")) == ["昌吉市葫芦娃玩具店"]
    city.execute(
        text("UPDATE entity SET name = '昌吉市金葫芦玩具店' WHERE uscc = '91652301MA00000009'")
    )
    assert not search.search(city, "葫芦娃").hits
    assert _names(search.search(city, "金葫芦")) == ["昌吉市金葫芦玩具店"]
    savepoint = city.begin_nested()
    city.execute(text("DELETE FROM entity WHERE uscc = '91652301MA00000009'"))
    assert not search.search(city, "金葫芦").hits
    savepoint.rollback()
    assert _names(search.search(city, "金葫芦")) == ["昌吉市金葫芦玩具店"]


def test_a_fragment_the_sample_finds_common_is_paged_in_registry_order(
    city: Session, monkeypatch
) -> None:
    """PostgreSQL, a large registry: a fragment the sample of names shows to be common skips
    the index (whose bitmap would hold millions) and reads a page in registry order — the same
    page the index route gives when it counts past the cap; a rare one is still ranked."""
    if city.get_bind().dialect.name != "postgresql":
        pytest.skip("the name sample is PostgreSQL's")
    city.execute(text("ANALYZE entity"))
    for name, value in (("SAMPLE_FROM", 1), ("COMMON_HITS", 2), ("COMMON_EXPECTED", 2)):
        monkeypatch.setattr(search, name, value)
    monkeypatch.setattr(search, "_samples", {})
    monkeypatch.setattr(search, "COUNT_CAP", 30)
    for fragment in ("测试商贸", "测"):
        sampled = search.search(city, fragment, per_page=7)
        assert sampled.capped and sampled.total == 30 and len(sampled.hits) == 7
        assert all(fragment in h.name for h in sampled.hits)
        pages = [search.search(city, fragment, page=p, per_page=7).hits for p in (1, 2, 3)]
        # The index route, for comparison (no sample): the same pages.
        monkeypatch.setattr(search, "_samples", {})
        monkeypatch.setattr(search, "SAMPLE_FROM", 10**12)
        indexed = [search.search(city, fragment, page=p, per_page=7).hits for p in (1, 2, 3)]
        assert pages == indexed
        monkeypatch.setattr(search, "SAMPLE_FROM", 1)
        monkeypatch.setattr(search, "_samples", {})
    # The exact name still comes first, and a fragment few names hold is ranked.
    assert _names(search.search(city, "天山"))[0] == "天山"
    rare = search.search(city, "葡萄酒庄")
    assert rare.how == "ranked" and _names(rare) == ["新疆庭州葡萄酒庄园有限责任公司"]


def _slow(session: Session) -> str:
    """A statement that runs for seconds on either database."""
    if session.get_bind().dialect.name == "postgresql":
        return "SELECT pg_sleep(5)"
    return (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000000) "
        "SELECT count(*) FROM n"
    )


def test_a_search_that_outlasts_its_limit_is_stopped_and_the_session_goes_on(
    city: Session, monkeypatch
) -> None:
    pg = city.get_bind().dialect.name == "postgresql"
    before = city.execute(text("SHOW statement_timeout")).scalar_one() if pg else None
    slow = _slow(city)

    def stuck(conn, query, out, pg) -> None:  # a fragment no index narrows
        conn.execute(text(slow))

    monkeypatch.setattr(search, "_trigram", stuck)
    started = datetime.now()
    page = search.search(city, "天山乳业", time_limit_ms=200)
    assert (datetime.now() - started).total_seconds() < 3
    assert (page.how, page.total, page.hits, page.query) == ("timeout", 0, [], "天山乳业")
    # The request's transaction is usable, and the limit did not outlive the search.
    assert city.execute(text("SELECT count(*) FROM entity")).scalar_one() == 40 + len(NAMES)
    if pg:
        assert city.execute(text("SHOW statement_timeout")).scalar_one() == before
    else:
        city.execute(text(slow.replace("100000000", "300000"))).scalar_one()  # no handler left
    # Other searches are untouched by the limit.
    assert _names(search.search(city, "馕饼")) == ["昌吉市阿依古丽馕饼店"]


def test_a_database_error_other_than_the_limit_is_not_hidden(city: Session, monkeypatch) -> None:
    def broken(conn, query, out, pg) -> None:
        conn.execute(text("SELECT * FROM no_such_table"))

    monkeypatch.setattr(search, "_trigram", broken)
    with pytest.raises(Exception, match="no_such_table"):
        search.search(city, "天山乳业")
