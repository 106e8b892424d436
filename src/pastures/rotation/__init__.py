"""Grazing rotation planner: how many animals of which herd graze where, week by week.

Modules: :mod:`~pastures.rotation.model` (data, rules, formulation),
:mod:`~pastures.rotation.inputs` (from a project and its forage budget),
:mod:`~pastures.rotation.blocks` (independent blocks, the MILP as arrays),
:mod:`~pastures.rotation.highs` (HiGHS on deterministic work limits),
:mod:`~pastures.rotation.plan` (plan and greedy baseline),
:mod:`~pastures.rotation.check` (independent checker),
:mod:`~pastures.rotation.explain` (fodder needs, why a plot is unused),
:mod:`~pastures.rotation.outputs` (tables, calendar, Gantt chart, files).
"""

from pastures.rotation.check import Violation, check_plan
from pastures.rotation.explain import FodderNote, fodder_notes, plot_status
from pastures.rotation.inputs import growth_per_period, rotation_inputs_from_project
from pastures.rotation.model import (
    Closure,
    HerdGroup,
    Location,
    ObjectiveWeights,
    RotationInputs,
    RotationParams,
    closed_mask,
    open_range_id,
    season_closures,
    validate_params,
)
from pastures.rotation.outputs import (
    OUTPUT_FILES,
    calendar_table,
    schedule_table,
    summary_table,
    write_plan_outputs,
)
from pastures.rotation.plan import RotationPlan, greedy_rotation, plan_rotation

__all__ = [
    "OUTPUT_FILES",
    "Closure",
    "FodderNote",
    "HerdGroup",
    "Location",
    "ObjectiveWeights",
    "RotationInputs",
    "RotationParams",
    "RotationPlan",
    "Violation",
    "calendar_table",
    "check_plan",
    "closed_mask",
    "fodder_notes",
    "greedy_rotation",
    "growth_per_period",
    "open_range_id",
    "plan_rotation",
    "plot_status",
    "rotation_inputs_from_project",
    "schedule_table",
    "season_closures",
    "summary_table",
    "validate_params",
    "write_plan_outputs",
]
