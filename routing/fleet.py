"""Plan a whole fleet: its territories as independent tasks, fanned out over worker processes.

A national team decomposes by territory: with every store owned by one rep, territories do
not interact, so each is planned on its own (``routing.cycle``) and the plans merge. Each task
ships plain data (its stores, its rep, the policy, the cycle, the road network's name, its
limits), builds its own travel matrix where it runs (never a matrix of the whole country),
plans, checks its plan (``routing.check``: the merged plan is checked in parallel, a
territory at a time) and returns routes, missing visits and the checker's verdict.

Stores without an owner are given one first (``territories``: a clustering seeded at the reps'
homes, balanced on the stores' required hours). Each task's time limit is the fleet's limit
times its share of the fleet's required hours, at least ``FleetParams.min_task_s``; a task
returns by its limit (the cycle planner's promise) with its best plan. A task that fails is
tried once more, then reported; the others carry on.

Executors run the tasks: ``LocalPool`` (worker processes on this machine, the default),
``RayCluster`` (Ray tasks on a cluster, the same code on a laptop and a cluster) or
``InProcess`` (one after another, here).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .calendar import Cycle
from .check import Violation, check_cycle
from .cycle import CyclePlan, RepCapacity, assemble, plan_cycle
from .model import Policy, Rep, Route, SolveParams, Store, Unassigned
from .territory import store_work_s
from .travel import Point, great_circle_m


@dataclass(frozen=True)
class FleetParams:
    """``time_limit_s``: the fleet's planning budget, shared out over the territories by their
    required hours (CPU seconds: with W workers the wall time is about this over W);
    ``min_task_s``: the least a territory gets; ``solution_limit`` and ``seed``: each task's
    (repeatable runs); ``check``: each task checks its plan; ``retries``: tries after a
    failure; ``balance_slack``: how far over an even share of the required hours a clustered
    territory may grow."""

    time_limit_s: float = 600.0
    min_task_s: float = 5.0
    solution_limit: int | None = None
    seed: int = 0
    check: bool = True
    retries: int = 1
    balance_slack: float = 0.05


@dataclass(frozen=True)
class TerritoryTask:
    """One territory to plan: plain data, picklable, sent to a worker."""

    key: str
    stores: tuple[Store, ...]
    reps: tuple[Rep, ...]
    policy: Policy
    cycle: Cycle
    network: str
    params: SolveParams
    check: bool = True


@dataclass(frozen=True)
class TerritoryPlan:
    """A planned territory: its routes and missing visits, the checker's violations (empty: it
    holds), how long it took and the worker's peak memory; ``error`` when it failed."""

    key: str
    routes: tuple[Route, ...] = ()
    unassigned: tuple[Unassigned, ...] = ()
    violations: tuple[Violation, ...] = ()
    capacity: tuple[RepCapacity, ...] = ()
    wall_s: float = 0.0
    worker_peak_mb: float = 0.0
    tries: int = 1
    error: str | None = None


@dataclass(frozen=True)
class FleetPlan:
    """The merged plan of every territory, each territory's outcome, and the fleet's wall time."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    territories: tuple[TerritoryPlan, ...]
    wall_s: float

    @property
    def failed(self) -> tuple[TerritoryPlan, ...]:
        return tuple(t for t in self.territories if t.error is not None)

    @property
    def violations(self) -> tuple[Violation, ...]:
        return tuple(v for t in self.territories for v in t.violations)

    def as_cycle(self, stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle,
                 params: dict | None = None) -> CyclePlan:
        """The merged plan as one cycle plan of the fleet (its KPIs over every territory)."""
        capacity = [c for t in self.territories for c in t.capacity]
        return assemble(stores, reps, policy, cycle, self.routes, self.unassigned, capacity, params or {})


# --- territories -----------------------------------------------------------------------------


def territories(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle, *,
                slack: float = 0.05) -> dict[str, str]:
    """A rep for every store (store id -> rep id): its owner where it has one; the others by
    a clustering seeded at the reps' homes and balanced on the stores' required hours (visits
    at the class frequency times the visit length): stores whose nearest and next-nearest
    homes differ most choose first, each goes to the nearest home whose territory is still
    under an even share of the fleet's hours (plus ``slack``), else to the nearest home."""
    reps_by_id = {r.id: r for r in reps}
    owner = {s.id: s.rep_id for s in stores if s.rep_id in reps_by_id}
    free = [s for s in stores if s.id not in owner]
    if not free or not reps:
        return owner
    work = {s.id: store_work_s(s, policy, cycle) for s in stores}
    load = dict.fromkeys(reps_by_id, 0.0)
    for s, r in owner.items():
        load[r] += work[s]
    share = (1 + slack) * sum(work.values()) / len(reps)
    far = great_circle_m([Point(s.lat, s.lon) for s in free], [Point(r.start_lat, r.start_lon) for r in reps])
    order = np.argsort(far, axis=1, kind="stable")
    second = far[np.arange(len(free)), order[:, 1]] if len(reps) > 1 else far[:, 0]
    regret = second - far[np.arange(len(free)), order[:, 0]]
    ids = [r.id for r in reps]
    for i in np.argsort(-regret, kind="stable"):
        store = free[i]
        rep = next((ids[k] for k in order[i] if load[ids[k]] + work[store.id] <= share), ids[order[i][0]])
        owner[store.id] = rep
        load[rep] += work[store.id]
    return owner


def tasks_of(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle, owner: Mapping[str, str], *,
             network: str = "straight", params: FleetParams = FleetParams()) -> list[TerritoryTask]:
    """One task per rep with stores, its time limit the fleet's times its share of the hours
    (at least ``params.min_task_s``), in the order of the reps."""
    mine: dict[str, list[Store]] = {r.id: [] for r in reps}
    for s in stores:
        if owner.get(s.id) in mine:
            mine[owner[s.id]].append(dataclasses.replace(s, rep_id=owner[s.id]))
    hours = {r: sum(store_work_s(s, policy, cycle) for s in ss) for r, ss in mine.items()}
    total = sum(hours.values()) or 1
    out = []
    for rep in reps:
        if not mine[rep.id]:
            continue
        limit = max(params.min_task_s, params.time_limit_s * hours[rep.id] / total)
        solve = SolveParams(time_limit_s=limit, solution_limit=params.solution_limit, seed=params.seed)
        out.append(TerritoryTask(rep.id, tuple(mine[rep.id]), (rep,), policy, cycle, network, solve, params.check))
    return out


# --- a task, where it runs -------------------------------------------------------------------

_ROADS: dict[str, object] = {}  # a worker's road engines, loaded once per process


def plan_territory(task: TerritoryTask) -> TerritoryPlan:
    """Plan one territory where it runs: its travel matrix, its cycle, its check."""
    from .network import road_network, travel_for

    started = time.perf_counter()
    if task.network not in _ROADS:
        _ROADS[task.network] = road_network(task.network)
    travel, _ = travel_for(_ROADS[task.network], task.stores, task.reps, task.policy)
    plan = plan_cycle(task.stores, task.reps, task.policy, task.cycle, travel=travel, params=task.params)
    violations = check_cycle(plan.routes, plan.unassigned, task.stores, task.reps, task.policy, task.cycle, travel) \
        if task.check else []
    return TerritoryPlan(task.key, plan.routes, plan.unassigned, tuple(violations), plan.capacity,
                         time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


# --- executors -------------------------------------------------------------------------------


class Executor(Protocol):
    """Runs tasks somewhere: ``run`` yields (task index, result or the exception it raised)
    as tasks finish; ``cancel`` stops what has not finished (and sets ``cancelled``)."""

    cancelled: bool

    def run(self, fn: Callable, tasks: Sequence) -> Iterator[tuple[int, object]]: ...

    def cancel(self) -> None: ...


@dataclass
class LocalPool:
    """Worker processes on this machine (``workers``: default one per core)."""

    workers: int | None = None
    cancelled: bool = False
    _pool: concurrent.futures.ProcessPoolExecutor | None = field(default=None, repr=False)

    def run(self, fn: Callable, tasks: Sequence) -> Iterator[tuple[int, object]]:
        workers = max(1, min(self.workers or multiprocessing.cpu_count(), len(tasks) or 1))
        self._pool = concurrent.futures.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        try:
            futures = {self._pool.submit(fn, task): k for k, task in enumerate(tasks)}
            for future in concurrent.futures.as_completed(futures):
                try:
                    yield futures[future], future.result()
                except concurrent.futures.CancelledError:
                    continue
                except Exception as exc:  # noqa: BLE001 - a task's failure is the caller's to report
                    yield futures[future], exc
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def cancel(self) -> None:
        """Drop the tasks not started and stop the running ones (their worker processes end)."""
        self.cancelled = True
        if self._pool is not None:
            workers = list((self._pool._processes or {}).values())  # noqa: SLF001 - no public way to stop a running task
            self._pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.terminate()


@dataclass
class RayCluster:
    """Tasks as Ray tasks (the optional extra ``fieldroute[ray]``): on the cluster at
    ``address`` ("local": one started on this machine), each task with ``cpus_per_task`` CPUs
    (the solve's threads); a local cluster's object store is bounded to ``object_store_mb``.
    Ray is imported here only."""

    address: str = "local"
    cpus_per_task: float = 1.0
    object_store_mb: int = 200
    cancelled: bool = False
    _pending: list = field(default_factory=list, repr=False)

    def connect(self) -> None:
        if self.address == "local":  # a cluster of this machine listens on 127.0.0.1 only
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        import ray

        if ray.is_initialized():
            return
        if self.address == "local":
            ray.init(include_dashboard=False, object_store_memory=self.object_store_mb * 2**20, log_to_driver=False,
                     configure_logging=False)
        else:
            ray.init(address=self.address, log_to_driver=False, configure_logging=False)

    def run(self, fn: Callable, tasks: Sequence) -> Iterator[tuple[int, object]]:
        import ray

        self.connect()
        remote = ray.remote(num_cpus=self.cpus_per_task, max_retries=0)(_call)
        index = {remote.remote(fn, task): k for k, task in enumerate(tasks)}
        self._pending = list(index)
        while self._pending:
            ready, self._pending = ray.wait(self._pending, num_returns=1)
            for ref in ready:
                try:
                    yield index[ref], ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    continue
                except ray.exceptions.RayTaskError as exc:  # the task raised: its own exception
                    yield index[ref], exc.cause if isinstance(exc.cause, Exception) else exc
                except ray.exceptions.RayError as exc:  # a worker or node lost
                    yield index[ref], exc

    def cancel(self) -> None:
        import ray

        self.cancelled = True
        for ref in self._pending:
            ray.cancel(ref, force=True)


def _call(fn: Callable, task: object) -> object:
    """``fn(task)``: Ray takes functions only, not partials, as tasks."""
    return fn(task)


class InProcess:
    """The tasks one after another in this process (a baseline, and for debugging)."""

    cancelled = False

    def run(self, fn: Callable, tasks: Sequence) -> Iterator[tuple[int, object]]:
        for k, task in enumerate(tasks):
            if self.cancelled:
                return
            try:
                yield k, fn(task)
            except Exception as exc:  # noqa: BLE001 - reported by the caller
                yield k, exc

    def cancel(self) -> None:
        self.cancelled = True


def plan_fleet(stores: Sequence[Store], reps: Sequence[Rep], policy: Policy, cycle: Cycle, *, network: str = "straight",
               params: FleetParams = FleetParams(), executor: Executor | None = None,
               progress: Callable[[int, int, TerritoryPlan], None] | None = None,
               task: Callable[[TerritoryTask], TerritoryPlan] = plan_territory) -> FleetPlan:
    """Plan ``cycle`` for the whole fleet, territory by territory (``territories``, ``tasks_of``)
    on ``executor`` (default ``LocalPool()``); ``progress(done, total, territory)`` hears of
    each territory as it finishes. A task that raises is tried ``params.retries`` more times,
    then reported (``FleetPlan.failed``) with its error; its visits are in neither the routes
    nor the missing visits. ``executor.cancel()`` (from another thread, or from ``progress``)
    stops the territories not yet finished: they are reported with the error "cancelled"."""
    started = time.perf_counter()
    owner = territories(stores, reps, policy, cycle, slack=params.balance_slack)
    tasks = tasks_of(stores, reps, policy, cycle, owner, network=network, params=params)
    executor = executor or LocalPool()
    done: dict[int, TerritoryPlan] = {}
    tries = dict.fromkeys(range(len(tasks)), 0)
    pending = list(range(len(tasks)))
    while pending:
        for k, result in executor.run(task, [tasks[i] for i in pending]):
            i = pending[k]
            tries[i] += 1
            if isinstance(result, BaseException):
                if executor.cancelled or tries[i] <= params.retries:
                    continue
                result = TerritoryPlan(tasks[i].key, tries=tries[i], error=f"{type(result).__name__}: {result}")
            else:
                result = dataclasses.replace(result, tries=tries[i])
            done[i] = result
            if progress is not None:
                progress(len(done), len(tasks), result)
        pending = [i for i in range(len(tasks)) if i not in done]
        if executor.cancelled:
            done |= {i: TerritoryPlan(tasks[i].key, tries=tries[i], error="cancelled") for i in pending}
            break
    plans = [done[i] for i in range(len(tasks))]
    routes = sorted((r for p in plans for r in p.routes), key=lambda r: (r.date, r.rep_id))
    missing = sorted((u for p in plans for u in p.unassigned), key=lambda u: (u.date or "", u.store_id))
    return FleetPlan(tuple(routes), tuple(missing), tuple(plans), time.perf_counter() - started)

