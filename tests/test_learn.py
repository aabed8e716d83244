"""Plans that learn (``routing.learn``): visit minutes, lateness and the ABC analysis against
hand-computed numbers, the suggestions they make, and the generated month's true durations
recovered."""

from __future__ import annotations

import datetime as dt
import statistics
from pathlib import Path

import pytest

from routing.calendar import Cycle
from routing.cycle import plan_cycle
from routing.daily import day_matrix
from routing.followup import FollowUp, MadeVisit, PlannedVisit, VisitLine, match, planned_visits
from routing.io import load_inputs
from routing.learn import PRIOR_VISITS, RepLoad, Spread, abc, learn, suggest
from routing.model import ClassPolicy, Policy, Rep, SolveParams, Store
from routing.simulate import Team, play

from .test_followup import ZONE, at

POLICY = Policy("Europe/Monaco", {"A": ClassPolicy("A", 2, 20, 3), "B": ClassPolicy("B", 1, 15, 2),
                                  "C": ClassPolicy("C", 0.5, 10, 1)})
STORES = {s.id: s for s in [Store("S1", "Big", 0, 0, "A"), Store("S2", "Kiosk", 0, 0, "B"),
                            Store("S3", "Cafe", 0, 0, "B", service_min=12), Store("S4", "Bar", 0, 0, "C")]}
REP = Rep("R1", "Rep One", 0, 0, 0, 0, shift_start_s=8 * 3600)
MON = dt.date(2026, 12, 7)


def visit(store: str, day: int, start: tuple[int, int], minutes: float, *, planned: tuple[int, int] | None = None,
          value: float | None = None, rep: str = "R1") -> VisitLine:
    checked_in = at(day, *start)
    made = MadeVisit(f"{store}-{day}-{start}", rep, store, MON + dt.timedelta(days=day), checked_in,
                     checked_in + dt.timedelta(minutes=minutes), "order" if value else "no_order", value)
    if planned is None:
        return VisitLine("extra", None, made)
    return VisitLine("made", PlannedVisit(store, rep, made.date, at(day, *planned), 15 * 60), made)


def test_a_stores_minutes_are_its_median_shrunk_toward_its_class_when_it_has_few_visits():
    lines = ([visit("S1", d, (9, 0), m) for d, m in enumerate([30, 32, 34, 36, 38, 40, 42, 44])]  # 8 visits: median 37
             + [visit("S2", d, (11, 0), m) for d, m in enumerate([20, 22])]                        # 2 visits: median 21
             + [visit("S3", d, (12, 0), m) for d, m in enumerate([13, 15, 17, 300])]               # 300 min: forgotten
             + [visit("S4", 0, (14, 0), 0)])                                                        # no time: left out
    learned = learn(lines, STORES)
    assert learned.stores["S1"].learned == 37 and learned.stores["S1"].spread == Spread(8, 37, 33.5, 40.5)
    b = learned.classes["B"]  # S2 and S3: 13 15 17 20 22
    assert (b.visits, b.median) == (5, 17)
    assert learned.stores["S2"].learned == pytest.approx(2 / PRIOR_VISITS * 21 + 6 / PRIOR_VISITS * 17)
    assert "S4" not in learned.stores and "C" not in learned.classes


def test_a_reps_lateness_is_measured_at_the_first_planned_visit_of_each_day():
    lines = [visit("S1", 0, (8, 50), 20, planned=(8, 30)), visit("S2", 0, (9, 40), 15, planned=(9, 0)),  # 20 late
             visit("S2", 1, (9, 10), 15, planned=(9, 0)),                                            # 10 late
             VisitLine("missed", PlannedVisit("S1", "R1", MON + dt.timedelta(days=2), at(2, 8, 0), 900), None, "not_reported"),
             visit("S3", 2, (9, 30), 15, planned=(9, 0))]                      # the first planned one missed: not counted
    late = learn(lines, STORES).lateness["R1"]
    assert (late.visits, late.median) == (2, 15)


def test_the_abc_analysis_ranks_stores_by_their_share_of_the_order_value():
    lines = ([visit("S2", d, (9, 0), 15, value=100) for d in range(7)]   # 700: 70 %
             + [visit("S1", d, (10, 0), 20, value=50) for d in range(4)]  # 200: 90 %
             + [visit("S3", 0, (11, 0), 12, value=100)]                   # 100
             + [visit("S4", d, (12, 0), 10) for d in range(3)])           # no order
    ranked = abc(lines, STORES, POLICY)
    assert [(r.store_id, r.sales, r.share, r.abc_class) for r in ranked] == [
        ("S2", 700, 0.7, "A"), ("S1", 200, 0.2, "B"), ("S3", 100, 0.1, "C"), ("S4", 0, 0, "C")]


def test_suggestions_say_what_changes_and_what_it_costs():
    lines = ([visit("S1", d, (9, 0), 30, planned=(8, 30), value=50) for d in range(6)]  # A: 30 min for 20, 30 min late
             + [visit("S2", d, (11, 0), 15, value=100) for d in range(7)]              # B ordering like an A store
             + [visit("S4", d, (12, 0), 10) for d in range(3)])                         # C never ordering: stays C
    learned, ranked = learn(lines, STORES), abc(lines, STORES, POLICY)
    got = suggest(learned, ranked, list(STORES.values()), [REP], POLICY, 4, {"S1": "R1", "S2": "R1"},
                  {"R1": RepLoad(travel_s_per_visit=600, required_h=100, available_h=160, working_days=20)})
    by_kind = {s.kind: s for s in got}
    assert [s.kind for s in got] == ["rep_start", "store_service", "store_class"]
    start = by_kind["rep_start"]
    assert (start.target, start.current, start.proposed) == ("R1", "08:00", "08:30")
    assert start.effect["available_hours_per_cycle"] == -10  # half an hour of 20 working days
    minutes = by_kind["store_service"]
    assert (minutes.target, minutes.current, minutes.proposed) == ("S1", 20, 30)
    assert minutes.effect["per_rep"] == {"R1": pytest.approx(8 * 10 / 60, abs=0.01)}  # 8 visits a cycle, 10 min more
    klass = by_kind["store_class"]
    assert (klass.target, klass.current, klass.proposed) == ("S2", "B", "A")
    # 8 visits of 20 min instead of 4 of 15, each with 10 min of travel
    assert klass.effect["visits_per_cycle"] == 4 and klass.effect["hours_per_cycle"] == pytest.approx((8 * 30 - 4 * 25) / 60, abs=0.01)
    assert klass.effect["capacity"]["after_h"] == pytest.approx(100 + 140 / 60, abs=0.01)
    assert minutes.id == suggest(learned, ranked, list(STORES.values()), [REP], POLICY, 4, {})[1].id  # stable
    assert not suggest(learn(lines[:2], STORES), [], list(STORES.values()), [REP], POLICY, 4, {})  # too few visits


def test_the_generated_months_true_visit_minutes_are_recovered():
    """The demo's 4-week cycle played by a team (``routing.simulate``): for every store with at
    least 8 visits, the learned minutes are within 2 min of the team's true ones (median)."""
    data = Path(__file__).parents[1] / "data" / "demo"
    stores, reps, policy = load_inputs(data / "stores.csv", data / "reps.csv", data / "policy.toml")
    plan = plan_cycle(stores, reps, policy, Cycle(dt.date(2026, 11, 2), 4), travel=day_matrix(stores, reps, policy),
                      params=SolveParams(time_limit_s=3, solution_limit=5))
    planned = planned_visits(plan.routes, policy.time_zone)
    by_id = {s.id: s for s in stores}
    team = Team.draw(by_id, reps, policy, seed=1)
    lines = match(planned, play(planned, by_id, reps, policy, seed=1, team=team), FollowUp(stores, reps, policy, 4).spacing(),
                  dt.date(2026, 12, 1))
    learned = learn(lines, by_id)
    errors = [abs(m.learned - team.service_s[s] / 60) for s, m in learned.stores.items() if m.spread.visits >= 8]
    assert len(errors) >= 5 and statistics.median(errors) <= 2
    assert all(abs(learned.lateness[r.id].median - team.late_s[r.id] / 60) < 1 for r in reps)


def test_applied_suggestions_are_what_the_next_plan_reads():
    from routing.learn import Inputs, Suggestion, applied

    before = Inputs(list(STORES.values()), [REP], POLICY)
    after = applied([Suggestion("store_service", "S1", "", 20, 30.0), Suggestion("store_class", "S2", "", "B", "A"),
                     Suggestion("rep_start", "R1", "", "08:00", "08:25"), Suggestion("class_service", "C", "", 10, 14.0)],
                    before)
    stores = {s.id: s for s in after.stores}
    assert (stores["S1"].service_min, stores["S2"].store_class, stores["S3"]) == (30, "A", STORES["S3"])
    assert after.reps[0].shift_start_s == 8 * 3600 + 25 * 60 and after.policy.classes["C"].service_min == 14
    assert before.policy.classes["C"].service_min == 10 and STORES["S1"].service_min is None  # nothing changed in place
