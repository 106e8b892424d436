"""Grazing rotation planner: how many animals of which herd graze where, week by week.

Modules: :mod:`~pastures.rotation.model` (data, rules, formulation),
:mod:`~pastures.rotation.inputs` (from a project and its forage budget),
:mod:`~pastures.rotation.blocks` (independent blocks, the MILP as arrays),
:mod:`~pastures.rotation.highs` (HiGHS on deterministic work limits),
:mod:`~pastures.rotation.plan` (plan and greedy baseline),
:mod:`~pastures.rotation.groups` (grazing groups of whole animals),
:mod:`~pastures.rotation.dispatch` (whole groups on the plan, one place a week),
:mod:`~pastures.rotation.deficit` (key-date feed budget: heads, bales, oats),
:mod:`~pastures.rotation.check` (independent checker),
:mod:`~pastures.rotation.explain` (fodder needs, why a plot is unused),
:mod:`~pastures.rotation.outputs` (tables, calendar, Gantt chart, files).
"""

from pastures.rotation.check import Violation, check_groups, check_plan
from pastures.rotation.deficit import FeedOptions, deficit_note, deficit_table
from pastures.rotation.dispatch import GroupPlan, place_groups
from pastures.rotation.explain import FodderNote, fodder_notes, group_plot_status, plot_status
from pastures.rotation.groups import GrazingGroup, grazing_groups, groups_table
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
    plan_table,
    plot_share_jun_nov,
    routes_table,
    schedule_table,
    summary_table,
    write_plan_outputs,
)
from pastures.rotation.plan import RotationPlan, greedy_rotation, plan_rotation

__all__ = [
    "OUTPUT_FILES",
    "Closure",
    "FeedOptions",
    "FodderNote",
    "GrazingGroup",
    "GroupPlan",
    "HerdGroup",
    "Location",
    "ObjectiveWeights",
    "RotationInputs",
    "RotationParams",
    "RotationPlan",
    "Violation",
    "calendar_table",
    "check_groups",
    "check_plan",
    "closed_mask",
    "deficit_note",
    "deficit_table",
    "fodder_notes",
    "grazing_groups",
    "greedy_rotation",
    "group_plot_status",
    "groups_table",
    "growth_per_period",
    "open_range_id",
    "place_groups",
    "plan_rotation",
    "plan_table",
    "plot_share_jun_nov",
    "plot_status",
    "rotation_inputs_from_project",
    "routes_table",
    "schedule_table",
    "season_closures",
    "summary_table",
    "validate_params",
    "write_plan_outputs",
]
