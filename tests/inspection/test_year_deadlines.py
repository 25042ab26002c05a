"""A year of batches on an injected clock: deadlines, overdue flags, on-time and late records."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlmodel import select

from supervision.calendar import working_days_after
from supervision.inspection.deadlines import deadline_of, lateness
from supervision.inspection.models import ResultVersion
from supervision.planning.models import Batch
from tests.inspection.conftest import approve, record_and_submit

WINDOWS = {
    "CJ-2026-Y01": (date(2026, 1, 5), date(2026, 2, 13)),  # just before the Spring Festival
    "CJ-2026-Y02": (date(2026, 3, 2), date(2026, 4, 30)),  # just before the May Day holiday
    "CJ-2026-Y03": (date(2026, 9, 1), date(2026, 9, 25)),  # across National Day
    "CJ-2026-Y04": (date(2026, 10, 12), date(2026, 11, 13)),
}


def next_workday(day: date) -> date:
    return working_days_after(day, 1)


def test_a_year_of_publications_on_time_and_late(
    app, client, draw_batch, member, login, session, clock
) -> None:
    clock.at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # 10:00 in China
    app.state.settings.token_ttl_hours = 24 * 400  # one login lasts the whole simulated year
    reviewer = login("reviewer")
    tasks = {
        code: draw_batch(code, start=start.isoformat(), end=end.isoformat())
        for code, (start, end) in WINDOWS.items()
    }
    due = {code: working_days_after(end, 20) for code, (_, end) in WINDOWS.items()}
    assert due["CJ-2026-Y01"] == date(2026, 3, 19)
    assert due["CJ-2026-Y03"] == date(2026, 10, 29)
    assert all(len(t) >= 4 for t in tasks.values())

    events: dict[date, list[Callable[[], None]]] = {}
    expected_late: dict[int, bool] = {}
    overdue_watch: list[tuple[str, int]] = []

    def on(day: date, action: Callable[[], None]) -> None:
        events.setdefault(day, []).append(action)

    def publish(task_id: int, late: bool) -> Callable[[], None]:
        def run() -> None:
            r = client.post(f"/api/v1/tasks/{task_id}/publish", headers=reviewer)
            assert r.status_code == 200, r.text
            assert r.json()["late"] is late, (task_id, clock.today(), r.json())

        expected_late[task_id] = late
        return run

    for code, (_, end) in WINDOWS.items():
        ids = tasks[code][:4]
        for t in ids:
            on(end, lambda t=t, end=end: record_and_submit(client, t, member(t), end.isoformat()))
            on(next_workday(end), lambda t=t: approve(client, t, reviewer))
        on(due[code] - timedelta(days=7), publish(ids[0], late=False))
        on(due[code], publish(ids[1], late=False))  # on the last day: still on time
        on(next_workday(due[code]), publish(ids[2], late=True))
        on(due[code] + timedelta(days=10), publish(ids[3], late=True))
        overdue_watch.append((code, ids[3]))

    checked_overdue = 0
    while clock.today() <= date(2026, 12, 31):
        today = clock.today()
        for action in events.pop(today, []):
            action()
        for code, task_id in overdue_watch:
            if today in (due[code], due[code] + timedelta(days=1)):
                view = _my_view(client, member(task_id), task_id)
                assert view["deadline"]["due"] == due[code].isoformat()
                assert view["deadline"]["overdue"] is (today > due[code])
                assert view["deadline"]["days_left"] == (due[code] - today).days
                checked_overdue += 1
        clock.advance(days=1)
    assert not events and checked_overdue == 8

    for code in WINDOWS:
        stats = client.get(f"/api/v1/batches/{code}/stats", headers=reviewer).json()
        assert (stats["published_on_time"], stats["published_late"]) == (2, 2), code
        assert stats["on_time_rate"] == 0.5
        assert stats["deadline"]["due"] == due[code].isoformat()
        assert stats["overdue"] == len(tasks[code]) - 4  # the tasks never recorded
    plan = client.get("/api/v1/plans/CJ-2026/stats", headers=reviewer).json()
    assert (plan["published_on_time"], plan["published_late"]) == (8, 8)

    recorded = dict(
        session.exec(
            select(ResultVersion.task_id, ResultVersion.late).where(
                ResultVersion.status == "published"
            )
        ).all()
    )
    assert recorded == expected_late


def test_a_deadline_in_an_unannounced_year_is_provisional(session, draw_batch) -> None:
    """A check ending on 2026-12-31: its 20 working days reach into 2027, whose arrangement is
    not announced — the deadline is counted on the statutory holidays and marked provisional,
    and so is the lateness measured against it."""
    draw_batch("CJ-2026-Y12", start="2026-12-01", end="2026-12-31")
    batch = session.exec(select(Batch).where(Batch.code == "CJ-2026-Y12")).one()
    # 4–8, 11–15, 18–22, 25–29 January (1 January off): the 20th working day is 29 January.
    assert lateness(batch, date(2026, 12, 31)) == (date(2027, 1, 29), False, True)
    assert lateness(batch, date(2027, 2, 1)) == (date(2027, 1, 29), True, True)
    d = deadline_of(batch, date(2027, 1, 25), done=False)
    assert (d.due, d.provisional, d.working_days_left, d.overdue) == (
        date(2027, 1, 29),
        True,
        4,
        False,
    )


def _my_view(client, headers: dict, task_id: int) -> dict:
    mine = client.get("/api/v1/me/tasks", headers=headers).json()
    return next(t for t in mine if t["id"] == task_id)
