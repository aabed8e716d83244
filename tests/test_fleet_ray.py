"""The fleet on Ray: a local cluster of two nodes (one CPU each, every address 127.0.0.1, no
dashboard, a small object store) plans the same fleet as the process pool, retries a failing
territory then reports it, and stops on cancel. Skipped without Ray unless
FIELDROUTE_REQUIRE_RAY=1 (CI installs the ``ray`` extra and sets it)."""

from __future__ import annotations

import functools
import os

import pytest

from routing.fleet import FleetParams, LocalPool, RayCluster, plan_fleet

from .test_fleet import PARAMS, flaky

# Ray binds to 127.0.0.1 with this (its choice on macOS and Windows); read when ray is imported.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
if os.environ.get("FIELDROUTE_REQUIRE_RAY") != "1":
    pytest.importorskip("ray", reason="the ray extra is not installed")


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
    two = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    two.add_node(**node)
    ray.init(address=two.address, log_to_driver=False, configure_logging=False)
    yield two
    ray.shutdown()
    two.shutdown()


@pytest.fixture(scope="module")
def fleet():
    from bench.synthetic import synthetic_cycle

    return synthetic_cycle(40, 4, seed=3, owners=False, weeks=1)


def test_two_nodes_plan_the_fleet_of_the_process_pool(cluster, fleet):
    import ray

    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    assert all(n["NodeManagerAddress"] == "127.0.0.1" for n in ray.nodes())
    on_ray = plan_fleet(*fleet, params=PARAMS, executor=RayCluster(cluster.address))
    pooled = plan_fleet(*fleet, params=PARAMS, executor=LocalPool(2))
    assert on_ray.routes == pooled.routes and on_ray.unassigned == pooled.unassigned
    assert not on_ray.failed and on_ray.violations == ()


def test_a_failing_territory_on_ray_is_retried_then_reported(cluster, fleet, tmp_path):
    plan = plan_fleet(*fleet, params=PARAMS, executor=RayCluster(cluster.address),
                      task=functools.partial(flaky, tmp_path, 2))
    (failed,) = plan.failed
    assert failed.key == "R02" and failed.tries == 2 and "worker lost (try 2)" in failed.error
    assert len(plan.territories) == 4 and all(t.routes for t in plan.territories if t.key != "R02")


def test_cancel_stops_the_territories_not_yet_planned(cluster, fleet):
    executor = RayCluster(cluster.address)
    heard = []

    def progress(done, total, territory):
        heard.append(territory.key)
        executor.cancel()

    timed = FleetParams(time_limit_s=8, min_task_s=2, seed=1)  # each territory runs about 2 s, two at a time
    plan = plan_fleet(*fleet, params=timed, executor=executor, progress=progress)
    cancelled = [t for t in plan.territories if t.error == "cancelled"]
    assert heard and cancelled and len(cancelled) + len(heard) == 4
