"""Former home of the rotation's outputs; kept so ``pastures.rotation_io`` imports work.

Everything now lives in :mod:`pastures.rotation.outputs` and
:mod:`pastures.rotation.practice`.
"""

from pastures.rotation.outputs import (
    CLOSED,
    OUTPUT_FILES,
    calendar_table,
    gantt_figure,
    ical_text,
    plan_table,
    routes_table,
    schedule_table,
    summary_table,
    write_plan_outputs,
)
from pastures.rotation.practice import (
    normalise_grazing_log,
    plan_against_practice,
    read_grazing_log,
    write_practice,
)

__all__ = [
    "CLOSED",
    "OUTPUT_FILES",
    "calendar_table",
    "gantt_figure",
    "ical_text",
    "normalise_grazing_log",
    "plan_against_practice",
    "plan_table",
    "read_grazing_log",
    "routes_table",
    "schedule_table",
    "summary_table",
    "write_plan_outputs",
    "write_practice",
]
