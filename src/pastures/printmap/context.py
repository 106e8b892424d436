"""What every page of an atlas reads: the run, its status table, the plan, the words."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from pastures import __version__
from pastures import schema as S
from pastures.defaults import Lang
from pastures.io import source_date_epoch
from pastures.outputs import (
    RunOutputs,
    juli_defaults_of,
    missing_results,
)
from pastures.printmap.calendar import calendar_months
from pastures.printmap.layout import Paper
from pastures.printmap.status import _status_table
from pastures.printmap.words import (
    MISSING_WORDS,
    _Labels,
    _labels,
    _source_words,
    _subtitle,
    format_date,
    gettext_of,
)

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Context:
    run: RunOutputs
    lang: Lang
    paper: Paper
    status: pd.DataFrame  # per plot: condition, risk and driver columns
    schedule: pd.DataFrame | None
    months: list[pd.Period]
    subtitle: str
    credits: str
    #: The footer of the second and later sheets of a map series: what is missing, and
    #: where the sources are (printed in full on every page, they were a third of the
    #: text a sheet had to draw).
    credits_later: str
    total_pages: int
    labels: _Labels
    #: The community sheets, in the atlas's order (see :func:`plan_sheets`).
    sheets: tuple[Sheet, ...] = ()
    #: Results computed once per context and reused (e.g. the calendar of a community).
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Sheet:
    """One sheet of the atlas: a community, or a part of its plots (a map series).

    Attributes
    ----------
    community
        Community name.
    number, count
        This sheet's number in the community's series and the number of sheets (1, 1
        for a community on one sheet).
    plot_codes
        Codes of the plots on this sheet (all the community's when ``count`` is 1).
    """

    community: str
    number: int
    count: int
    plot_codes: tuple[str, ...]


def _community_names(run: RunOutputs) -> list[str]:
    """Communities in the layer's order, then those only the plots name."""
    names = list(run.communities[S.COMMUNITY].astype(str)) if not run.communities.empty else []
    for name in run.plots[S.COMMUNITY].astype(str).unique() if not run.plots.empty else []:
        if name not in names:
            names.append(name)
    return names


def _make_context(run: RunOutputs, lang: Lang, paper: Paper, n_communities: int) -> _Context:
    schedule = run.table("schedule")
    today = (source_date_epoch() or dt.datetime.now(dt.UTC)).date()
    _ = gettext_of(lang)
    labels = _labels(run, lang)
    imagery, forage, dem = _source_words(run, lang)
    sources = _(
        "Sources: communities, plots, corrals and water points: project layers{illustrative}; "
        "vegetation: {imagery}; forage production: {forage}; range condition and capacity: "
        "Flórez (2005); erosion: RUSLE (Renard et al. 1997); relief: {dem}; "
        "rotation: pastures plan. Made with pastures {version} on {date}."
    ).format(
        illustrative=labels.source if run.illustrative else "",
        imagery=imagery,
        forage=forage,
        dem=dem,
        version=__version__,
        date=format_date(today, lang),
    )
    missing = [_(MISSING_WORDS[key]) for key in missing_results(run)]
    juli = juli_defaults_of(run)
    if juli:
        missing.append(_("Juli's values used by default: {names}").format(names=", ".join(juli)))
    # the later sheets of a map series point to the first one for the sources
    pointer = _("Sources and credits: on the first sheet of the community.")
    if missing:  # said where people read, not left as empty columns
        sources = ". ".join(missing) + ". " + sources
        pointer = ". ".join(missing) + ". " + pointer
    return _Context(
        run=run,
        lang=lang,
        paper=paper,
        status=_status_table(run),
        schedule=schedule,
        months=calendar_months(schedule),
        subtitle=_subtitle(run, lang),
        credits=sources,
        credits_later=pointer,
        total_pages=2 + n_communities,
        labels=labels,
    )
