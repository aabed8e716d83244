"""Follow-up numbers (``routing.followup``) against hand-computed ones on a small week: two
visits a week to one store, a visit across midnight, a holiday, a store deactivated
mid-period, a visit covered by another rep, an extra visit, a visit made a day late, a closed
store, a visit nobody reported, and an order the week before."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from routing.followup import FollowUp, MadeVisit, Period, PlannedVisit, Target, match, overdue, report, unvisited
from routing.model import ClassPolicy, Policy, Rep, Store

ZONE = ZoneInfo("Europe/Monaco")
MON = dt.date(2026, 12, 7)
WEEK = Period(MON, MON + dt.timedelta(days=6))
HOLIDAY = MON + dt.timedelta(days=2)  # Wednesday


def at(day: int, hh: int, mm: int = 0) -> dt.datetime:
    """``day`` days after Monday, at hh:mm in the plan's zone."""
    return dt.datetime.combine(MON + dt.timedelta(days=day), dt.time(hh, mm), ZONE)


POLICY = Policy("Europe/Monaco", {
    "A": ClassPolicy("A", 2, 20, 3, focus_step="tell_promotions"),
    "B": ClassPolicy("B", 1, 15, 2),
    "C": ClassPolicy("C", None, 10, 1, visits_per_cycle=1),
})
STORES = [Store("S1", "One", 0, 0, "A", rep_id="R1"), Store("S2", "Two", 0, 0, "B", rep_id="R1"),
          Store("S3", "Three", 0, 0, "C", rep_id="R1"), Store("S4", "Four", 0, 0, "B", rep_id="R2"),
          Store("S5", "Five", 0, 0, "B"), Store("S6", "Six", 0, 0, "B", rep_id="R1")]
REPS = [Rep("R1", "Rep 1", 0, 0, 0, 0), Rep("R2", "Rep 2", 0, 0, 0, 0)]
DATA = FollowUp(STORES, REPS, POLICY, cycle_weeks=2, active=lambda s: s != "S6", holidays=frozenset({HOLIDAY}),
                areas={"S1": "Centre", "S2": "Centre", "S4": "Port"}, planned_rep={"S5": "R2"},
                targets=[Target("2026-12", rep_id="R1", order_value=3100, visits=62)])


def planned(store: str, rep: str, day: int, hh: int, minutes: int, **kw) -> PlannedVisit:
    return PlannedVisit(store, rep, MON + dt.timedelta(days=day), at(day, hh), minutes * 60, **kw)


def made(vid: str, store: str, rep: str, day: int, start: tuple[int, int], end: dt.datetime | tuple[int, int],
         outcome=None, value=None, steps=(), far=False) -> MadeVisit:
    out = end if isinstance(end, dt.datetime) else at(day, *end)
    return MadeVisit(vid, rep, store, MON + dt.timedelta(days=day), at(day, *start), out, outcome, value, steps, far)


PLANNED = [
    planned("S1", "R1", 0, 9, 20), planned("S1", "R1", 3, 9, 20),       # A twice a week
    planned("S2", "R1", 0, 10, 15),                                     # made a day late
    planned("S4", "R1", 3, 11, 15, moved="covered"),                    # R2's store, covered by R1 today
    planned("S5", "R2", 3, 10, 15),
    planned("S6", "R1", 0, 12, 15),                                     # deactivated later
    planned("S3", "R1", 4, 9, 10, left="store_closed"),
    planned("S4", "R2", 4, 9, 15),                                      # nobody reported it
]
MADE = [
    made("m0", "S1", "R1", -7, (9, 0), (9, 20), "order", 80),          # the week before
    made("m1", "S1", "R1", 0, (9, 5), (9, 25), "order", 100, ("enter", "tell_promotions")),
    made("m2", "S1", "R1", 3, (23, 50), at(4, 0, 20), "no_order"),      # across midnight
    made("m3", "S2", "R1", 1, (10, 0), (10, 15), "order", 50),
    made("m4", "S4", "R1", 3, (11, 0), (11, 20), "order", 30, far=True),
    made("m5", "S5", "R2", 3, (10, 10), (10, 25), "no_order"),
    made("m6", "S6", "R1", 0, (12, 0), (12, 10), "refused"),
    made("m7", "S2", "R1", 4, (14, 0), (14, 10), "order", 20),          # extra
]


@pytest.fixture
def lines():
    return match(PLANNED, MADE, DATA.spacing(), today=MON + dt.timedelta(days=7))


def test_made_visits_match_the_planned_ones(lines):
    got = {(line.status, line.planned.store_id if line.planned else None, line.made.id if line.made else None, line.reason)
           for line in lines}
    assert got == {("made", "S1", "m1", None), ("made", "S1", "m2", None), ("made_other_day", "S2", "m3", None),
                   ("made", "S4", "m4", None), ("made", "S5", "m5", None), ("made", "S6", "m6", None),
                   ("missed", "S3", None, "store_closed"), ("missed", "S4", None, "not_reported"),
                   ("extra", None, "m7", None), ("extra", None, "m0", None)}
    assert len(lines) == 10  # every visit once


def test_a_planned_visit_of_today_or_later_is_due_not_missed():
    lines = match(PLANNED, [], DATA.spacing(), today=MON + dt.timedelta(days=3))
    assert {line.status for line in lines if line.planned.date >= MON + dt.timedelta(days=3)} == {"due"}
    assert {line.status for line in lines if line.planned.date < MON + dt.timedelta(days=3)} == {"missed"}


def test_a_made_visit_too_far_from_any_planned_one_is_extra():
    far = made("x", "S2", "R1", 5, (9, 0), (9, 10))  # S2 weekly: within 3.5 days of Monday's plan? 5 days: no
    lines = match([planned("S2", "R1", 0, 10, 15)], [far], DATA.spacing(), today=MON + dt.timedelta(days=7))
    assert sorted(line.status for line in lines) == ["extra", "missed"]


def test_the_numbers_per_rep(lines):
    rows = {r.key: r for r in report(lines, DATA, WEEK, "rep")}
    r1 = rows["R1"]
    assert (r1.planned, r1.made, r1.made_other_day, r1.extra, r1.missed, r1.due) == (6, 5, 1, 1, 1, 0)
    assert r1.missed_by_reason == {"store_closed": 1}
    assert (r1.stores, r1.covered, r1.coverage) == (4, 3, 0.75)  # S1 S2 S3 S6 (deactivated, planned); S3 not made
    assert (r1.ordering, r1.active_rate) == (2, pytest.approx(2 / 3))  # S1, S2 of the covered three
    assert (r1.orders, r1.sales, r1.avg_order) == (4, 200, 50)  # m1 100, m3 50, m4 30 (R2's store), m7 20
    assert r1.formula == pytest.approx(100)  # 3 x 2/3 x 50
    assert r1.survival == 1.0  # S1 ordered the week before and this week
    assert (r1.focus_rate, r1.checklist_rate) == (1.0, pytest.approx(2 / 7))
    assert r1.required == pytest.approx(4.5)  # S1 2, S2 1, S3 0.5 (once in a 2-week cycle), S6 1
    assert r1.frequency == pytest.approx(6 / 4.5)
    assert (r1.working_days, r1.visits_per_day, r1.orders_per_day) == (4, 1.5, 1.0)  # Wednesday a holiday
    assert (r1.planned_service_min, r1.actual_service_min) == (85, 95)  # m2 across midnight: 30 min
    assert (r1.late_arrivals, r1.far_check_ins) == (2, 1)  # m1 09:05 for 09:00, m2 23:50
    assert (r1.target_order_value, r1.target_visits) == (pytest.approx(700), pytest.approx(14))  # 7/31 of December's
    assert (r1.gap_order_value, r1.gap_visits) == (pytest.approx(-500), pytest.approx(-8))
    assert r1.changes["covered"].previous == 1 and r1.changes["sales"].previous == 80
    assert r1.changes["coverage"].change == pytest.approx((0.75 - 1 / 3) / (1 / 3))  # S6 had no line the week before

    r2 = rows["R2"]
    assert (r2.planned, r2.made, r2.extra, r2.missed, r2.missed_by_reason) == (2, 1, 0, 1, {"not_reported": 1})
    assert (r2.stores, r2.covered, r2.ordering, r2.active_rate) == (2, 2, 1, 0.5)  # S4 (covered by R1), S5 (planned)
    assert (r2.orders, r2.sales, r2.avg_order, r2.formula) == (0, 0, None, None)
    assert (r2.frequency, r2.working_days, r2.late_arrivals) == (0.5, 4, 1)
    assert r2.target_order_value is None


def test_the_numbers_per_class_area_team_week_and_store(lines):
    by_class = {r.key: r for r in report(lines, DATA, WEEK, "class")}
    assert {k: (r.stores, r.covered, r.planned, r.made) for k, r in by_class.items()} == {
        "A": (1, 1, 2, 2), "B": (4, 4, 5, 4), "C": (1, 0, 1, 0)}
    by_area = {r.key: (r.stores, r.covered, r.sales) for r in report(lines, DATA, WEEK, "area")}
    assert by_area == {"": (3, 2, 0), "Centre": (2, 2, 170), "Port": (1, 1, 30)}
    (team,) = report(lines, DATA, WEEK, "team")
    assert (team.stores, team.covered, team.planned, team.made, team.extra, team.sales) == (6, 5, 8, 6, 1, 200)
    assert team.working_days == 8
    (week,) = report(lines, DATA, WEEK, "week")
    assert (week.key, week.made, week.covered) == ("2026-12-07", 6, 5)
    stores = {r.key: (r.made, r.extra, r.missed) for r in report(lines, DATA, WEEK, "store")}
    assert stores["S2"] == (1, 1, 0) and stores["S3"] == (0, 0, 1)


def test_the_stores_to_look_at(lines):
    assert [g.store_id for g in unvisited(lines, DATA, WEEK)] == ["S3"]  # S6 no longer active
    assert [g.store_id for g in unvisited(lines, DATA, WEEK, "A")] == []
    late = overdue(lines, DATA, WEEK.end)
    assert [(g.store_id, g.days_since) for g in late] == [("S3", None)]
    assert [g.store_id for g in overdue(lines, DATA, WEEK.end + dt.timedelta(days=3))] == ["S1", "S3"]  # S1: 6 > 3.5


def test_visits_from_another_system_are_read_and_checked():
    from routing.errors import InputError
    from routing.io import parse_visits

    text = ("id,rep_id,store_id,checked_in,checked_out,outcome,order_value,currency,note,steps\n"
            "v1,R1,S1,2026-12-07T23:50,2026-12-08T00:20,order,12.5,eur,late one,enter;take_order\n"
            "v2,R2,S4,2026-12-08T09:00:00+00:00,2026-12-08T09:15:00+00:00,,,,,\n")
    v1, v2 = parse_visits(text, fmt="csv", time_zone="Europe/Monaco", rep_ids={"R1", "R2"}, store_ids={"S1", "S4"})
    assert (v1.date, v1.service_s, v1.outcome, v1.order_value, v1.currency, v1.steps) == (
        MON, 1800, "order", 12.5, "EUR", ("enter", "take_order"))
    assert v1.checked_in.utcoffset() == dt.timedelta(hours=1) and v2.outcome is None
    bad = [{"id": "v1", "rep_id": "R9", "store_id": "S1", "checked_in": "2026-12-07T10:00", "checked_out": "2026-12-07T09:00"},
           {"id": "v1", "rep_id": "R1", "store_id": "S1", "checked_in": "noon", "checked_out": "2026-12-07T09:00",
            "order_value": 5, "colour": "red"},
           {"id": "v3", "rep_id": "R1", "store_id": "S1", "checked_in": "2026-12-07T10:00", "checked_out": "2026-12-07T10:10",
            "outcome": "no_order", "order_value": 5, "currency": "euro"}]
    with pytest.raises(InputError) as caught:
        parse_visits(bad, fmt="json", time_zone="Europe/Monaco", rep_ids={"R1"}, store_ids={"S1"})
    said = {(p.row, p.field) for p in caught.value.problems}
    assert said == {("[0]", "rep_id"), ("[0]", "checked_out"), ("[1]", "colour"), ("[1]", "id"), ("[1]", "checked_in"),
                    ("[1]", "outcome"), ("[2]", "order_value"), ("[2]", "currency")}, caught.value.problems


def test_a_days_events_make_visits():
    """A check-out and the rep's check-in before it are one visit (far if the check-in was);
    a check-out without a check-in began its service time before; ``only`` picks check-outs."""
    from routing.events import Event, VisitReport
    from routing.followup import made_visits

    stores = {s.id: s for s in [Store("S1", "One", 43.7, 7.4, "A"), Store("S2", "Two", 43.7, 7.4, "B")]}
    events = [Event("visit_started", 9 * 3600, "R1", "S1", lat=43.71, lon=7.4),  # about 1.1 km away
              Event("visit_done", 9 * 3600 + 1200, "R1", "S1", report=VisitReport("order", 10.0, "", ("enter",))),
              Event("visit_done", 10 * 3600, "R1", "S2")]
    one, two = made_visits(MON, "Europe/Monaco", events, stores, POLICY, radius_m=300)
    assert (one.checked_in, one.checked_out, one.far, one.outcome, one.order_value, one.steps) == (
        at(0, 9), at(0, 9, 20), True, "order", 10.0, ("enter",))
    assert (two.checked_in, two.checked_out, two.far, two.outcome) == (at(0, 9, 45), at(0, 10), False, None)
    assert one.id != two.id and made_visits(MON, "Europe/Monaco", events, stores, POLICY, 300)[0].id == one.id
    assert [v.store_id for v in made_visits(MON, "Europe/Monaco", events, stores, POLICY, 2000, only=events[2:])] == ["S2"]
    assert not made_visits(MON, "Europe/Monaco", events, stores, POLICY, 2000)[0].far


def test_a_played_cycle_looks_like_a_teams_work():
    """``routing.simulate.play``: seeded, most planned visits made, some not, orders by class."""
    from routing.simulate import play

    days = [planned(s.id, "R1" if n % 2 else "R2", d, 9 + n, 15) for d in range(0, 5) for n, s in enumerate(STORES)]
    stores = {s.id: s for s in STORES}
    made = play(days, stores, REPS, POLICY, seed=3)
    assert made == play(days, stores, REPS, POLICY, seed=3) and made != play(days, stores, REPS, POLICY, seed=4)
    assert 0.7 * len(days) <= len(made) < len(days) and len({m.id for m in made}) == len(made)
    assert {m.outcome for m in made} <= {"order", "no_order", "refused"} and any(m.order_value for m in made)
    assert all(m.checked_out > m.checked_in and m.store_id in stores for m in made)
    lines = match(days, made, DATA.spacing(), today=MON + dt.timedelta(days=7))
    assert {line.status for line in lines} >= {"made", "missed"}
