"""Fieldroute: route optimisation for field-sales visits.

The library speaks stores, reps, visits, routes and plans::

    from routing import load_inputs, solve_day, check_plan, SolveParams
    stores, reps, policy = load_inputs("stores.csv", "reps.csv", "policy.toml")
    plan = solve_day(date, stores, reps, policy, params=SolveParams(time_limit_s=5, seed=1))
"""

from .check import Violation, check_plan
from .daily import day_matrix, solve_day
from .errors import InputError, InputProblem
from .io import load_inputs, plan_from_dict, plan_to_dict, read_plan, write_plan
from .model import ClassPolicy, DayPlan, Policy, Rep, Route, SolveParams, Stop, Store, Summary, Unassigned
from .travel import Point, TravelMatrix, straight_line_matrix

__all__ = [
    "ClassPolicy", "DayPlan", "InputError", "InputProblem", "Point", "Policy", "Rep", "Route", "SolveParams",
    "Stop", "Store", "Summary", "TravelMatrix", "Unassigned", "Violation", "check_plan", "day_matrix",
    "load_inputs", "plan_from_dict", "plan_to_dict", "read_plan", "solve_day", "straight_line_matrix", "write_plan",
]
