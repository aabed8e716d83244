"""A Solomon instance end to end through the routing core and the checker."""

from pathlib import Path

import pytest

from bench import solomon

DATA = Path(solomon.DEFAULT_DATA)


@pytest.mark.skipif(not (DATA / "C101.txt").exists(), reason="needs ../shared/bench/solomon beside the repo")
def test_c101_is_feasible_and_near_best_known():
    """C101 with a solution limit: feasible per the checker, every customer served, within 10 % of the best known."""
    from routing import vrptw
    from routing.check import check_routes

    inst = solomon.read_instance(DATA / "C101.txt")
    assert len(inst.xy) == 101 and inst.capacity == 200
    problem, rules = solomon.build(inst)
    solution = vrptw.solve(problem, time_limit_s=60, solution_limit=300)
    assert solution.dropped == ()
    service = {j.key: j.service_s for j in problem.jobs}
    routes = solomon.stops_of(problem, solution, "x")
    assert check_routes(routes, [], rules["stores"], rules["reps"], problem.matrix, requested=list(service)) == []
    result_distance = sum(
        solomon.euclid(inst)[a, b]
        for vr in solution.routes
        for a, b in zip([0] + [int(k[1:]) for k in vr.jobs], [int(k[1:]) for k in vr.jobs] + [0])
    )
    assert result_distance <= 828.94 * 1.10
