"""The OR-Tools vehicle-routing core: jobs with time windows on vehicles with shifts.

This is the only module that speaks OR-Tools. It takes plain jobs and vehicles keyed by
strings and returns, per vehicle, the ordered job keys with their service start times.
Nodes, routing indices and dimensions never leave this module.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.util import optional_boolean_pb2

from .model import Break
from .search import Annealing, Budget, Exhausted, iterate, string_at
from .travel import TravelMatrix

Window = tuple[int, int]


@dataclass(frozen=True)
class Job:
    """Something to do at a place: service of ``service_s`` starting inside one of ``windows``.

    ``penalty`` is the cost of leaving the job out (``None``: it must be done).
    ``vehicles`` restricts which vehicles may do it (``None``: any).
    """

    key: str
    place: str
    windows: tuple[Window, ...]
    service_s: int
    penalty: int | None = None
    demand: int = 0
    vehicles: frozenset[str] | None = None


@dataclass(frozen=True)
class Vehicle:
    """A vehicle (a rep's day): leaves ``start`` no earlier than ``earliest_s``, reaches
    ``end`` no later than ``latest_s``, optionally takes a break on the way."""

    key: str
    start: str
    end: str
    earliest_s: int
    latest_s: int
    lunch: Break | None = None
    max_jobs: int | None = None
    capacity: int | None = None
    fair_work_s: int | None = None
    """With ``Problem.balance_weight``: each second of travel and service beyond this costs
    that weight (a fair share of the work; waiting and breaks do not count)."""


DEFAULT_OPERATORS: Mapping[str, bool] = {
    # The cheapest-insertion path LNS operators are slow per move; without them GLS
    # makes many more moves in the same time (Solomon subset at 10 s: 2.9 -> 2.0 % gap).
    "use_global_cheapest_insertion_path_lns": False,
    "use_local_cheapest_insertion_path_lns": False,
}


LNS_INNER_OPERATORS: Mapping[str, bool] = {
    name: False
    for name in (
        "use_lin_kernighan",
        "use_relocate_expensive_chain",
        "use_relocate_subtrip",
        "use_exchange_subtrip",
        "use_make_inactive",
        "use_make_chain_inactive",
        "use_swap_active",
        "use_swap_active_chain",
        "use_shortest_path_swap_active",
        "use_shortest_path_two_opt",
        "use_relocate_path_global_cheapest_insertion_insert_unperformed",
        "use_light_relocate_pair",
        "use_relocate_pair",
        "use_exchange_pair",
    )
}


@dataclass(frozen=True)
class Search:
    """How OR-Tools searches. The defaults are what the benchmarks support best
    (screened on Solomon VRPTW at 10 s per instance, see bench/solomon.py)."""

    first_solution: str = "SAVINGS"
    """A ``routing_enums_pb2.FirstSolutionStrategy`` name."""
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    """A ``routing_enums_pb2.LocalSearchMetaheuristic`` name."""
    gls_lambda: float = 0.3
    """Guided local search penalty coefficient (``guided_local_search_lambda_coefficient``)."""
    operators: Mapping[str, bool] = field(default_factory=lambda: dict(DEFAULT_OPERATORS))
    """``local_search_operators`` field names switched on (True) or off (False); the
    ones not named keep OR-Tools' defaults. Default: ``DEFAULT_OPERATORS``; a dict given
    here replaces it, so pass ``{**DEFAULT_OPERATORS, ...}`` to add to it."""
    ls_neighbors_ratio: float = 1.0
    """``ls_operator_neighbors_ratio``: share of each node's nearest neighbours the
    local search operators try (1: all). Smaller is faster per move but searches less."""
    ls_min_neighbors: int = 1
    """``ls_operator_min_neighbors``: lower bound on the neighbours tried per node."""
    workers: int = 1
    """Independent searches run at once in separate processes (multi-start), each
    with its own job-order seed (and, for odd workers, ``alt_first_solution``);
    the best is kept. All share the same wall-clock limit, so use at most one per
    free core. 1: a single search in this process."""
    alt_first_solution: str | None = "PARALLEL_CHEAPEST_INSERTION"
    """First-solution strategy of the odd-numbered multi-start workers (``None``: the
    same as ``first_solution``). Unused when ``workers`` is 1."""
    lns: bool = True
    """Ruin-and-recreate around OR-Tools (default since it beat plain GLS on all 56 Solomon
    instances at 10 s: mean gap 2.81 -> 1.68 % single search, 2.30 -> 1.65 % with 2 workers): after a first search of ``lns_first_share`` of
    the time, repeatedly remove ``lns_min_removed``..``lns_max_removed`` nearby jobs
    (strings from a few routes next to a random seed job, SISR-style), let OR-Tools
    re-insert them and improve (``lns_inner_metaheuristic`` for ``lns_inner_s``), and keep
    the result by simulated annealing. Required jobs get a large drop penalty so partial
    solutions are valid inside the loop; a solution that drops a required job is never
    returned. With a ``solution_limit`` the loop is bounded by iterations (deterministic)."""
    lns_first_share: float = 0.3
    """Share of the time limit given to the first search before the LNS loop."""
    lns_min_removed: int = 5
    """Fewest jobs removed per LNS iteration."""
    lns_max_removed: int = 12
    """Most jobs removed per LNS iteration."""
    lns_max_string: int = 10
    """Longest string of consecutive jobs removed from one route."""
    lns_inner_s: float = 0.3
    """Time limit of each re-insert-and-improve search."""
    lns_inner_metaheuristic: str = "GREEDY_DESCENT"
    """Metaheuristic of the re-insert-and-improve searches."""
    lns_inner_neighbors_ratio: float = 1.0
    """``ls_neighbors_ratio`` of the re-insert-and-improve searches (smaller: faster)."""
    lns_inner_min_neighbors: int = 10
    """``ls_min_neighbors`` of the re-insert-and-improve searches."""
    lns_inner_operators: Mapping[str, bool] = field(default_factory=lambda: dict(LNS_INNER_OPERATORS))
    """``local_search_operators`` switched on or off in the re-insert-and-improve searches,
    on top of ``operators``. Default ``LNS_INNER_OPERATORS``: the slower operators off,
    which about doubles the LNS iterations in the time."""
    lns_temperature: float = 0.005
    """Simulated-annealing start temperature as a share of the first objective (falls
    linearly to 0 at the deadline); 0: accept only improvements."""


@dataclass(frozen=True)
class Problem:
    """Jobs, vehicles and a travel matrix.

    ``cost`` picks what the arcs cost: ``"seconds"`` or ``"metres"`` of the matrix.
    ``span_weight`` adds each route's duration (so waiting costs too) and, at half that
    weight, leaving later than the earliest start (a day starts late only to save waiting).
    ``balance_weight`` adds the spread between the earliest start and the latest end over
    all vehicles, and each second of work a vehicle does beyond its ``fair_work_s`` (so
    work is shared out).
    """

    jobs: Sequence[Job]
    vehicles: Sequence[Vehicle]
    matrix: TravelMatrix
    cost: str = "seconds"
    span_weight: int = 0
    balance_weight: int = 0
    previous: Mapping[str, Sequence[str]] | None = None
    """The routes of a plan being changed (vehicle key -> job keys in order): with
    ``change_cost``, each job done by another vehicle than the one that had it costs that
    much; with ``order_cost``, each arc (start, jobs, end) a vehicle drives that was not on
    its previous route costs that much (a minimal-change objective)."""
    change_cost: int = 0
    order_cost: int = 0
    max_changes: int | None = None
    """With ``previous``: at most this many jobs that were on a vehicle of the problem end
    on another vehicle or are left out (a cap on change; jobs whose vehicle is not in the
    problem are not counted: they must move)."""


@dataclass(frozen=True)
class VehicleRoute:
    """A solved vehicle: job keys in order with their service start times."""

    vehicle: str
    start: str
    end: str
    jobs: tuple[str, ...]
    starts_s: tuple[int, ...]
    depart_s: int
    arrive_s: int
    break_start_s: int | None


@dataclass(frozen=True)
class Solution:
    """Routes of the vehicles that do at least one job, the jobs left out, and search facts."""

    routes: tuple[VehicleRoute, ...]
    dropped: tuple[str, ...]
    objective: int | None
    status: str
    wall_s: float


def solve(
    problem: Problem,
    *,
    time_limit_s: float,
    solution_limit: int | None = None,
    seed: int = 0,
    search: Search = Search(),
    initial: Mapping[str, Sequence[str]] | None = None,
) -> Solution:
    """Solve ``problem`` within the limits. ``seed`` shuffles the job order, which changes
    how ties are broken; the same problem, seed and solution limit give the same result.
    ``initial`` (vehicle key -> job keys in order) is a solution to start from instead
    of building one; when it is feasible the result is never worse than it."""
    started = time.perf_counter()
    deadline = started + time_limit_s
    if search.workers <= 1:
        result = _solve_one(problem, deadline, solution_limit, seed, search, initial)
    else:
        result = _solve_many(problem, deadline, solution_limit, seed, search, initial)
    routes, dropped, objective, status = result
    return Solution(routes, dropped, objective, status, time.perf_counter() - started)


def _solve_one(problem: Problem, deadline: float, solution_limit: int | None, seed: int, search: Search, initial=None):
    """One search that stops by ``deadline`` (a ``time.perf_counter`` value): the time
    spent building the model comes out of the search's limit."""
    if search.lns:
        return _solve_lns(problem, deadline, solution_limit, seed, search, initial)
    model = _Model(problem, seed)
    params = _search_parameters(search, deadline - time.perf_counter(), solution_limit)
    assignment = model.first_search(params, initial)
    status = _status(model.routing)
    if assignment is None:
        return (), tuple(j.key for j in problem.jobs), None, status
    routes, dropped = model.read(assignment)
    return routes, dropped, assignment.ObjectiveValue(), status


def _solve_lns(problem: Problem, deadline: float, solution_limit: int | None, seed: int, search: Search, initial=None):
    """The ruin-and-recreate loop of ``Search.lns`` (see there): a first search on the
    plain model, then the loop on a second model of the same problem whose required
    jobs may be dropped at a large penalty (closed with the inner search's parameters)."""
    first_model = _Model(problem, seed)
    started = time.perf_counter()
    first_limit = (deadline - started) * search.lns_first_share
    # Given a solution limit, the first search descends to a local optimum: a guided local search
    # that finds no other solution (a date of one or two visits, tight windows) would search on
    # to the time limit, however large, since only solutions count towards the limit.
    first_search = search if solution_limit is None else replace(search, metaheuristic="GREEDY_DESCENT")
    first = first_model.first_search(_search_parameters(first_search, first_limit, solution_limit), initial)
    status = _status(first_model.routing)
    if first is None:
        return (), tuple(j.key for j in problem.jobs), None, status
    first_routes = [
        [first_model.manager.IndexToNode(i) for i in route]
        for route in _index_routes(first_model.routing, first, len(problem.vehicles))
    ]
    first_result = (*first_model.read(first), first.ObjectiveValue(), status)

    model = _Model(problem, seed, lns_penalty=True)
    routing, manager = model.routing, model.manager
    rng = np.random.default_rng(seed + 7919)
    inner_search = replace(
        search,
        metaheuristic=search.lns_inner_metaheuristic,
        ls_neighbors_ratio=search.lns_inner_neighbors_ratio,
        ls_min_neighbors=search.lns_inner_min_neighbors,
        operators={**search.operators, **search.lns_inner_operators},
    )
    inner = _search_parameters(inner_search, search.lns_inner_s, None)
    routing.CloseModelWithParameters(inner)
    n_jobs = len(model.jobs)
    n_veh = len(problem.vehicles)
    required = [node for node, job in enumerate(model.jobs) if job.penalty is None]

    def complete(a) -> bool:
        return all(a.Value(routing.NextVar(manager.NodeToIndex(node))) != manager.NodeToIndex(node) for node in required)

    def node_routes(a) -> list[list[int]]:
        return [[manager.IndexToNode(i) for i in route] for route in _index_routes(routing, a, n_veh)]

    template = routing.solver().Assignment()
    if not routing.RoutesToAssignment([[manager.NodeToIndex(n) for n in r] for r in first_routes], True, True, template):
        return first_result
    best, best_obj = None, first.ObjectiveValue()
    current, candidate = first_routes, None
    neighbours = model.job_neighbours()
    budget = Budget(deadline, None if solution_limit is None else max(1, solution_limit), margin=0.05,
                    started=time.perf_counter())

    def step(it: int) -> float | None:
        nonlocal best, best_obj, candidate
        # Given a solution limit, each inner search runs to its local optimum (deterministic).
        remaining = budget.left_s()
        inner_s = remaining if budget.iterations is not None else min(search.lns_inner_s, remaining)
        inner.time_limit.FromMilliseconds(max(1, int(inner_s * 1000)))
        # Ruin: strings from the routes of the seed job's nearest neighbours.
        where = {node: (v, i) for v, nodes in enumerate(current) for i, node in enumerate(nodes)}
        if not where:
            raise Exhausted
        performed = sorted(where)
        seed_node = performed[int(rng.integers(len(performed)))]
        target = int(rng.integers(search.lns_min_removed, search.lns_max_removed + 1))
        removed: set[int] = set()
        ruined: set[int] = set()
        for node in neighbours[seed_node]:
            if len(removed) >= target:
                break
            if node not in where or where[node][0] in ruined:
                continue
            v, i = where[node]
            ruined.add(v)
            nodes = current[v]
            removed.update(nodes[string_at(rng, len(nodes), i, min(search.lns_max_string, target - len(removed)))])
        partial = [[manager.NodeToIndex(n) for n in nodes if n not in removed] for nodes in current]
        # (ReadAssignmentFromRoutes fails at random here once required jobs have penalties.)
        start_assignment = routing.solver().Assignment(template)
        if not routing.RoutesToAssignment(partial, True, True, start_assignment):
            return None
        candidate = routing.SolveFromAssignmentWithParameters(start_assignment, inner)
        if candidate is None or not complete(candidate):
            return None  # a solution that drops a required job is never kept
        obj = candidate.ObjectiveValue()
        if obj < best_obj:
            best, best_obj = routing.solver().Assignment(candidate), obj
        return obj

    def keep(_: float) -> None:
        nonlocal current
        current = node_routes(candidate)

    if n_jobs:
        iterate(step, Annealing(search.lns_temperature * abs(first.ObjectiveValue())), budget, rng,
                first.ObjectiveValue(), keep=keep)
    if best is None:
        return first_result
    routes, dropped = model.read(best)
    return routes, dropped, best.ObjectiveValue(), status


def _status(routing) -> str:
    return _STATUS.get(routing.status(), str(routing.status()))


def _index_routes(routing, assignment, n_vehicles: int) -> list[list[int]]:
    """Per vehicle, the routing indices it visits in order (no start or end)."""
    out = []
    for v in range(n_vehicles):
        route, index = [], assignment.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            route.append(index)
            index = assignment.Value(routing.NextVar(index))
        out.append(route)
    return out


def _worker_search(search: Search, k: int) -> Search:
    if k % 2 == 1 and search.alt_first_solution:
        return replace(search, first_solution=search.alt_first_solution, workers=1)
    return replace(search, workers=1)


def _child(conn, problem, deadline, solution_limit, seed, search, initial) -> None:
    try:
        conn.send(_solve_one(problem, deadline, solution_limit, seed, search, initial))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which carries on
        conn.send(exc)
    finally:
        conn.close()


def _solve_many(problem: Problem, deadline: float, solution_limit: int | None, seed: int, search: Search, initial=None):
    """Multi-start: worker 0 searches here, the others in forked processes; the best
    objective wins (ties: the lowest worker), so given a solution limit the result is
    as reproducible as a single search."""
    ctx = multiprocessing.get_context("fork")
    children = []
    for k in range(1, search.workers):
        parent_end, child_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child,
            args=(child_end, problem, deadline, solution_limit, seed + k, _worker_search(search, k), initial),
            daemon=True,
        )
        proc.start()
        child_end.close()
        children.append((proc, parent_end))
    results = [_solve_one(problem, deadline, solution_limit, seed, _worker_search(search, 0), initial)]
    for proc, conn in children:
        try:
            got = conn.recv() if conn.poll(max(1.0, deadline - time.perf_counter() + 5.0)) else None
        except EOFError:
            got = None
        conn.close()
        proc.join(timeout=1.0)
        if proc.is_alive():
            proc.kill()
            proc.join()
        if got is not None and not isinstance(got, BaseException):
            results.append(got)

    def rank(r):
        return (r[2] is None, r[2] if r[2] is not None else 0)

    return min(results, key=rank)


_STATUS = {
    0: "not_solved",
    1: "success",
    2: "partial_success_time_limit",
    3: "fail",
    4: "fail_timeout",
    5: "invalid",
    6: "infeasible",
    7: "optimal",
}


_BOOL_TRUE = optional_boolean_pb2.OptionalBoolean.Value("BOOL_TRUE")  # 3 (1 is invalid)
_BOOL_FALSE = optional_boolean_pb2.OptionalBoolean.Value("BOOL_FALSE")  # 2


def _search_parameters(search: Search, time_limit_s: float, solution_limit: int | None):
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, search.first_solution)
    params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, search.metaheuristic)
    params.guided_local_search_lambda_coefficient = search.gls_lambda
    params.ls_operator_neighbors_ratio = search.ls_neighbors_ratio
    params.ls_operator_min_neighbors = search.ls_min_neighbors
    for name, on in search.operators.items():
        setattr(params.local_search_operators, name, _BOOL_TRUE if on else _BOOL_FALSE)
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    if solution_limit is not None:
        params.solution_limit = solution_limit
    return params


class _Model:
    """The OR-Tools model of one problem, and the mapping back from its indices."""

    def __init__(self, problem: Problem, seed: int, lns_penalty: bool = False):
        self.problem = problem
        jobs = list(problem.jobs)
        if seed:
            order = np.random.default_rng(seed).permutation(len(jobs))
            jobs = [jobs[i] for i in order]
        self.jobs = jobs
        depots = list(dict.fromkeys([v.start for v in problem.vehicles] + [v.end for v in problem.vehicles]))
        places = [j.place for j in jobs] + depots
        n_jobs = len(jobs)
        depot_node = {p: n_jobs + i for i, p in enumerate(depots)}
        vehicles = problem.vehicles
        self.manager = pywrapcp.RoutingIndexManager(
            len(places),
            len(vehicles),
            [depot_node[v.start] for v in vehicles],
            [depot_node[v.end] for v in vehicles],
        )
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        seconds, metres = problem.matrix.sub(places)
        service = np.array([j.service_s for j in jobs] + [0] * len(depots), dtype=np.int64)

        cost = metres if problem.cost == "metres" else seconds
        change = problem.previous is not None and (problem.change_cost or problem.order_cost)
        if change:
            for v, veh in enumerate(vehicles):
                routing.SetArcCostEvaluatorOfVehicle(
                    routing.RegisterTransitMatrix(self._change_costs(cost, v, depot_node).tolist()), v)
        else:
            routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(cost.tolist()))

        transit = seconds + service[:, None]
        horizon = int(max(v.latest_s for v in vehicles))
        time_cb = routing.RegisterTransitMatrix(transit.tolist())
        routing.AddDimension(time_cb, horizon, horizon, False, "time")
        self.time = time_dim = routing.GetDimensionOrDie("time")

        index = self.manager.NodeToIndex
        self._cost = cost
        # LNS: a drop penalty for required jobs far above any solution's cost, so partial
        # solutions are valid but never better than a complete one.
        most = int(cost.max()) + 1 + (problem.change_cost + problem.order_cost if change else 0)
        big = int(min(2**50, max(10**9, 4 * most * (len(places) + len(vehicles)) + sum(j.penalty or 0 for j in jobs))))
        for node, job in enumerate(jobs):
            cumul = time_dim.CumulVar(index(node))
            cumul.SetRange(job.windows[0][0], job.windows[-1][1])
            for (_, close), (reopen, _) in zip(job.windows, job.windows[1:]):
                if reopen > close + 1:
                    cumul.RemoveInterval(close + 1, reopen - 1)
            if job.penalty is not None:
                routing.AddDisjunction([index(node)], int(job.penalty))
            elif lns_penalty:
                routing.AddDisjunction([index(node)], big)
            if job.vehicles is not None:
                allowed = [v for v, veh in enumerate(vehicles) if veh.key in job.vehicles]
                # SetAllowedVehiclesForIndex's Python binding rejects lists in 9.15; -1 = not performed.
                routing.VehicleVar(index(node)).SetValues(allowed + ([-1] if job.penalty is not None or lns_penalty else []))

        for v, veh in enumerate(vehicles):
            time_dim.CumulVar(routing.Start(v)).SetRange(veh.earliest_s, veh.latest_s)
            time_dim.CumulVar(routing.End(v)).SetRange(veh.earliest_s, veh.latest_s)
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))
            if problem.span_weight:
                # Leave later only to avoid waiting: a late start costs half what waiting costs.
                time_dim.SetCumulVarSoftUpperBound(routing.Start(v), veh.earliest_s, problem.span_weight)
            else:
                routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
        if problem.span_weight:
            time_dim.SetSpanCostCoefficientForAllVehicles(2 * problem.span_weight)
        if problem.balance_weight:
            time_dim.SetGlobalSpanCostCoefficient(problem.balance_weight)
            if any(veh.fair_work_s is not None for veh in vehicles):
                # A dimension of its own (no slack, no breaks) keeps this cost visible to
                # the local search filters; on the time dimension it was not (measured).
                routing.AddDimension(time_cb, 0, horizon, True, "work")
                work = routing.GetDimensionOrDie("work")
                for v, veh in enumerate(vehicles):
                    if veh.fair_work_s is not None:
                        work.SetCumulVarSoftUpperBound(routing.End(v), veh.fair_work_s, problem.balance_weight)

        self._add_breaks(service)
        if problem.previous is not None and problem.max_changes is not None:
            self._cap_changes(problem.max_changes)
        big = len(jobs) + 1
        if any(v.max_jobs is not None for v in vehicles):
            ones = routing.RegisterUnaryTransitVector([1] * n_jobs + [0] * len(depots))
            caps = [v.max_jobs if v.max_jobs is not None else big for v in vehicles]
            routing.AddDimensionWithVehicleCapacity(ones, 0, caps, True, "visits")
        if any(v.capacity is not None for v in vehicles):
            demand = routing.RegisterUnaryTransitVector([j.demand for j in jobs] + [0] * len(depots))
            total = sum(j.demand for j in jobs) + 1
            caps = [v.capacity if v.capacity is not None else total for v in vehicles]
            routing.AddDimensionWithVehicleCapacity(demand, 0, caps, True, "load")

    def _cap_changes(self, cap: int) -> None:
        """At most ``cap`` jobs leave the vehicle they were on (``Problem.max_changes``)."""
        routing, solver = self.routing, self.routing.solver()
        vehicle_of = {veh.key: v for v, veh in enumerate(self.problem.vehicles)}
        had = {k: key for key, keys in self.problem.previous.items() for k in keys}
        moved = [solver.IsDifferentCstVar(routing.VehicleVar(self.manager.NodeToIndex(n)), vehicle_of[had[job.key]])
                 for n, job in enumerate(self.jobs) if had.get(job.key) in vehicle_of]
        if moved:
            solver.Add(solver.Sum(moved) <= max(0, cap))

    def _change_costs(self, cost: np.ndarray, v: int, depot_node: Mapping[str, int]) -> np.ndarray:
        """Vehicle ``v``'s arc costs with the minimal-change terms (``Problem.previous``)."""
        problem, veh = self.problem, self.problem.vehicles[v]
        node = {job.key: n for n, job in enumerate(self.jobs)}
        out = cost.astype(np.int64).copy()
        if problem.change_cost:
            had = {k: key for key, keys in problem.previous.items() for k in keys}
            moved = [n for n, job in enumerate(self.jobs) if had.get(job.key, veh.key) != veh.key]
            out[:, moved] += problem.change_cost
        if problem.order_cost:
            path = [depot_node[veh.start], *(node[k] for k in problem.previous.get(veh.key, ()) if k in node),
                    depot_node[veh.end]]
            kept = np.zeros(out.shape, dtype=bool)
            kept[path[:-1], path[1:]] = True
            out += np.where(kept, 0, problem.order_cost)
        np.fill_diagonal(out, 0)
        return out

    def first_search(self, params, initial: Mapping[str, Sequence[str]] | None):
        """Improve ``initial`` (vehicle key -> job keys in order) or, without one or when
        it breaks a constraint, a first solution. Everything stays within the time limit:
        None when not even a first solution was found in it (the caller then builds one
        more cheaply, see ``routing.repair``)."""
        self.routing.CloseModelWithParameters(params)
        start = None
        if initial is not None:
            node = {job.key: n for n, job in enumerate(self.jobs)}
            unknown = sorted({k for keys in initial.values() for k in keys} - node.keys())
            unknown += sorted(set(initial) - {v.key for v in self.problem.vehicles})
            if unknown:
                raise ValueError(f"initial routes name unknown jobs or vehicles: {', '.join(unknown[:5])}")
            routes = [[self.manager.NodeToIndex(node[k]) for k in initial.get(v.key, ())] for v in self.problem.vehicles]
            candidate = self.routing.solver().Assignment()
            # An infeasible candidate is not searched from: OR-Tools would try to complete it
            # by tree search, which can run to the time limit (and past any solution limit).
            if (self.routing.RoutesToAssignment(routes, True, True, candidate)
                    and self.routing.CheckIfAssignmentIsFeasible(candidate, False)):
                start = self.routing.SolveFromAssignmentWithParameters(candidate, params)
                if start is not None:
                    return start
        first = pywrapcp.DefaultRoutingSearchParameters()
        first.CopyFrom(params)
        first.solution_limit = 1
        start = self.routing.SolveWithParameters(first)
        if start is None:
            return None
        return self.routing.SolveFromAssignmentWithParameters(start, params) or start

    def job_neighbours(self) -> list[list[int]]:
        """Per job node, all job nodes (itself first) by increasing arc cost either way."""
        n = len(self.jobs)
        c = self._cost[:n, :n]
        c = np.minimum(c, c.T)
        return [[int(k) for k in np.argsort(c[i], kind="stable")] for i in range(n)]

    def _add_breaks(self, service: np.ndarray) -> None:
        routing, solver = self.routing, self.routing.solver()
        self.breaks: dict[int, object] = {}
        visit_transit = [0] * routing.Size()
        for i in range(routing.Size()):
            visit_transit[i] = int(service[self.manager.IndexToNode(i)])
        for v, veh in enumerate(self.problem.vehicles):
            if veh.lunch is None:
                continue
            b = veh.lunch
            interval = solver.FixedDurationIntervalVar(
                b.earliest_s, b.latest_s - b.duration_s, b.duration_s, False, f"break:{v}"
            )
            self.breaks[v] = interval
            self.time.SetBreakIntervalsOfVehicle([interval], v, visit_transit)

    def read(self, assignment) -> tuple[tuple[VehicleRoute, ...], tuple[str, ...]]:
        routing, time_dim = self.routing, self.time
        break_starts = {}
        intervals = assignment.IntervalVarContainer()
        for i in range(intervals.Size()):
            element = intervals.Element(i)
            name = element.Var().Name()
            if name.startswith("break:") and element.PerformedValue():
                break_starts[int(name.split(":")[1])] = element.StartValue()
        routes = []
        performed: set[str] = set()
        vehicles = self.problem.vehicles
        for v, (veh, indices) in enumerate(zip(vehicles, _index_routes(routing, assignment, len(vehicles)))):
            keys = [self.jobs[self.manager.IndexToNode(i)].key for i in indices]
            starts = [assignment.Value(time_dim.CumulVar(i)) for i in indices]
            performed.update(keys)
            if keys:
                routes.append(
                    VehicleRoute(
                        vehicle=veh.key,
                        start=veh.start,
                        end=veh.end,
                        jobs=tuple(keys),
                        starts_s=tuple(starts),
                        depart_s=assignment.Value(time_dim.CumulVar(routing.Start(v))),
                        arrive_s=assignment.Value(time_dim.CumulVar(routing.End(v))),
                        break_start_s=break_starts.get(v),
                    )
                )
        dropped = tuple(j.key for j in self.problem.jobs if j.key not in performed)
        return tuple(routes), dropped
