"""Territory proposals in the service: computed in a job's worker process from a plan's routed
days, checked by routing the new territories, stored; applied as new store versions."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from routing.model import SolveParams
from routing.io import parse_policy, parse_reps
from routing.territory import (Proposal, ProposalParams, WhatIf, balance, headcount, owners, plan_territories, propose,
                               routed_headcount, travel_per_visit_s, with_owners, workloads)
from routing.travel import places_of, with_places

from .cache import LRU
from .db import transaction
from .models import Job, OwnerEdit, Plan, PolicyVersion, ProposalRow, StoreRow, utcnow
from .replans import PlanBase, base_of, plan_state
from .records import STORES, patch_record

#: Share of a proposal job's time for the CP-SAT search; the rest routes the new territories.
SEARCH_SHARE = 0.4


def compute(settings, sessions: sessionmaker, job_id: str, progress) -> None:
    """The job: read the plan, propose, route the proposal's territories, store it."""
    from routing.network import road_network

    progress("loading the plan", 0.02)
    with sessions() as session:
        job = session.get(Job, job_id)
        params = dict(job.params)
        plan = session.get(Plan, params["plan_id"])
        base = base_of(session, plan, lambda name: road_network(name, cache=settings.cache_dir), settings.cache_dir)
        stores, reps, policy, cycle, travel = base.stores, base.reps, base.policy, base.cycle, base.travel
        policy_data = session.get(PolicyVersion, plan.inputs["policy"]).data
        routes, missing = plan_state(session, plan)
        current_owner = {row.id: row.rep_id for row in session.scalars(select(StoreRow))}
        edits = {(e.store_id, e.rep_id) for e in session.scalars(select(OwnerEdit))} if params.get("keep_edits", True) else set()
    before = workloads(routes, missing, stores, reps, policy, cycle)
    today = owners_now(current_owner, stores, routes, {r.id for r in reps})
    change = what_if(params.get("what_if"), policy_data)
    if change is not None:  # try the change: other reps (balanced anew) or other classes (same territories)
        reps, policy = change.apply(reps, policy)
        travel = with_places(travel, {k: p for r in change.add_reps for k, p in places_of([], [r]).items()},
                             places_of(stores, [*reps]), speed_kmh=policy.speed_kmh, circuity=policy.circuity)
        today = {s: (r if r not in change.remove_reps else None) for s, r in today.items()}
        stores = [dataclasses.replace(s, rep_id=None) if s.rep_id in change.remove_reps else s for s in stores]
    limit = float(params["time_limit_s"])
    cap = params.get("max_moves")
    if cap is None and params.get("max_moves_pct") is not None:
        cap = int(params["max_moves_pct"] / 100 * len(stores))
    progress("proposing", 0.05)
    if change is not None and not (change.add_reps or change.remove_reps):
        proposal = Proposal(dict(today), (), {}, "KEPT")  # other classes: the same territories, routed again
    else:
        per_visit = travel_per_visit_s(before, [r.id for r in reps])
        proposal = propose(stores, reps, policy, cycle, travel, today, per_visit, ProposalParams(
            max_moves=cap, locked_stores=frozenset(params.get("locked_stores", [])),
            locked_pairs=frozenset(tuple(p) for p in params.get("locked_pairs", []))
            | {(s, r) for s, r in edits if current_owner.get(s) == r},  # hand moves still in force
            time_limit_s=SEARCH_SHARE * limit, seed=int(params.get("seed", 0)), workers=settings.territory_jobs))
    progress("routing the new territories", SEARCH_SHARE)
    jobs = settings.territory_jobs  # territories in parallel: with owners fixed they do not interact
    per_territory = max(0.5, (1 - SEARCH_SHARE) * limit * jobs / max(1, len(reps)))
    new_routes, new_missing = plan_territories(stores, reps, policy, cycle, travel, proposal.owners,
                                               SolveParams(time_limit_s=per_territory, seed=int(params.get("seed", 0))),
                                               jobs=jobs)
    after = workloads(new_routes, new_missing, with_owners(stores, proposal.owners), reps, policy, cycle)
    result = {
        "status": proposal.status,
        "owners": proposal.owners,
        "owners_then": {s.id: current_owner.get(s.id) for s in stores},
        "moves": [{"store_id": s, "from": a, "to": b} for s, a, b in proposal.moves],
        "before": [w.as_dict() for w in before], "after": [w.as_dict() for w in after],
        "balance_before": balance(before).as_dict(), "balance_after": balance(after).as_dict(),
        "estimated_h": proposal.estimated_h,
        "headcount": headcount(after),
        "what_if": change is not None,
    }
    search_s = float((params.get("what_if") or {}).get("headcount_time_s") or 0)
    if change is not None and search_s > 0:
        started = time.monotonic()

        def tried(size: int, sizes: int) -> None:
            share = min(1.0, (time.monotonic() - started) / search_s)
            progress(f"headcount: routing a team of {size} ({sizes} sizes tried)", 0.5 + 0.49 * share)

        found = routed_headcount(stores, reps, policy, cycle, travel, proposal.owners, after, time_limit_s=search_s,
                                 seed=int(params.get("seed", 0)), progress=tried, jobs=jobs)
        result["headcount_routed"] = found.as_dict() | {"loads": [w.as_dict() for w in found.loads]}
    with transaction(sessions) as session:
        done = session.execute(update(Job).where(Job.id == job_id, Job.status == "running").values(
            status="succeeded", phase="done", progress=1.0, finished_at=utcnow())).rowcount
        if done:
            session.execute(update(ProposalRow).where(ProposalRow.job_id == job_id).values(status="proposed", result=result))


def what_if(data: dict | None, policy_data: dict) -> WhatIf | None:
    """A request's ``what_if`` (reps as the reps file's records, class changes merged into the
    policy's class tables, ``policy_data`` as stored) as a ``WhatIf``; raises ``InputError``
    naming the field."""
    if not data:
        return None
    add = parse_reps(data["add_reps"], fmt="json", source="what_if.add_reps") if data.get("add_reps") else []
    classes = {}
    if data.get("classes"):
        raw = dict(policy_data, classes=dict(policy_data.get("classes", {})))
        for name, change in data["classes"].items():
            raw["classes"][name] = dict(raw["classes"].get(name, {})) | change
        parsed = parse_policy(raw, source="what_if")
        classes = {name: parsed.classes[name] for name in data["classes"]}
    return WhatIf(tuple(add), frozenset(data.get("remove_reps") or []), classes)


class Stale(Exception):
    """A proposal whose stores changed owner since it was made."""


def apply(session: Session, row: ProposalRow) -> int:
    """Give every store of the proposal its rep as owner (a new store version where it
    changes: the moved stores, and stores that had no owner); ``Stale`` when a store's owner
    changed since the proposal was made. Returns how many stores changed."""
    then = row.result["owners_then"]
    changed = 0
    for store_id, rep_id in sorted(row.result["owners"].items()):
        store = session.get(StoreRow, store_id)
        if store is None or not store.active:
            raise Stale(f"store {store_id} is gone since the proposal was made: propose again")
        if store.rep_id != then.get(store_id):
            raise Stale(f"store {store_id} now belongs to rep {store.rep_id}, not {then.get(store_id)}: propose again")
        if store.rep_id != rep_id:
            patch_record(session, STORES, store_id, {"rep_id": rep_id})
            changed += 1
    row.status, row.applied_at = "applied", utcnow()
    return changed


def stored_owners(session: Session, stores) -> dict[str, str | None]:
    """The owner each of ``stores`` has in the database now."""
    return dict(session.execute(select(StoreRow.id, StoreRow.rep_id).where(StoreRow.id.in_([s.id for s in stores]))).all())


def owners_now(current: Mapping[str, str | None], stores, routes, rep_ids: set[str] | None = None) -> dict[str, str | None]:
    """Each of a plan's stores' rep today: its owner now (``current``, store id -> rep: set
    since the plan too, by a move or an applied proposal; one of ``rep_ids`` if given), else
    the rep the plan sends to it most."""
    owner = owners(stores, routes)
    for store_id, rep_id in current.items():
        if store_id in owner and rep_id is not None and (rep_ids is None or rep_id in rep_ids):
            owner[store_id] = rep_id
    return owner


def preview_moves(plan: Plan, base: PlanBase, state, owner: dict[str, str | None], moves: dict[str, str], time_limit_s: float,
                  routed: LRU | None = None) -> dict:
    """The routed workloads of the reps that moves (store -> new rep) touch, before (the
    plan's routed days: ``state``, its routes and missing visits) and after (those reps'
    territories routed again with the moves, from ``owner``: each store's rep today).
    ``routed`` keeps the routed territories by what they were made from, so that applying a
    move just previewed answers the very numbers the preview showed (a time-limited search
    would give slightly others)."""
    stores, reps, policy, cycle, travel = base.stores, base.reps, base.policy, base.cycle, base.travel
    routes, missing = state
    touched = {owner.get(s) for s in moves} | set(moves.values())
    mine = [r for r in reps if r.id in touched]
    before = workloads(routes, missing, stores, mine, policy, cycle, team=reps)
    new_owner = owner | moves
    key = (plan.id, tuple(sorted((s, r) for s, r in new_owner.items() if r in touched)))
    routed_now = routed.get(key) if routed is not None else None
    if routed_now is None:
        routed_now = plan_territories(stores, mine, policy, cycle, travel, new_owner, SolveParams(time_limit_s=time_limit_s),
                                      jobs=1)
        if routed is not None:
            routed.put(key, routed_now)
    new_routes, new_missing = routed_now
    after = workloads(new_routes, new_missing, with_owners(stores, new_owner), mine, policy, cycle)
    return {"before": [w.as_dict() for w in before], "after": [w.as_dict() for w in after]}
