"""Per-community summary of a pasture project: plots, hectares, corrals, families, animals."""

from __future__ import annotations

import pandas as pd

from pastures import schema as S
from pastures.layers import Project

#: Label of the totals row.
TOTAL_LABEL = "TOTAL"


def community_summary(project: Project, *, total: bool = True) -> pd.DataFrame:
    """One row per community with its plots, fenced hectares, corrals, families and animals.

    Communities of the communities layer come first, in its order; communities
    named only by plots, corrals or herds follow.

    Parameters
    ----------
    project
        A loaded project (see :func:`pastures.layers.load_project`).
    total
        Append a totals row labelled :data:`TOTAL_LABEL`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`pastures.schema.SUMMARY_COLUMNS`; hectares in ha (EPSG:32719 or
        the project's working CRS).
    """
    names: list[str] = list(project.communities[S.COMMUNITY].dropna())
    for df in (project.plots, project.corrals, project.herds):
        if S.COMMUNITY in df.columns:
            names += [n for n in df[S.COMMUNITY].dropna().unique() if n not in names]
    table = pd.DataFrame({S.COMMUNITY: pd.Series(names, dtype="string")})

    def per_community(df: pd.DataFrame, how: dict[str, tuple[str, str]]) -> pd.DataFrame:
        if not len(df):
            return pd.DataFrame(
                {c: pd.Series(dtype="float64") for c in how},
                index=pd.Index([], name=S.COMMUNITY, dtype="string"),
            )
        return df.groupby(S.COMMUNITY).agg(**how)  # type: ignore[call-overload]

    plots = per_community(
        project.plots, {S.N_PLOTS: (S.PLOT_CODE, "size"), S.PLOTS_HA: (S.AREA_HA, "sum")}
    )
    corrals = per_community(project.corrals, {S.N_CORRALS: (S.CORRAL_ID, "size")})
    herds = per_community(
        project.herds,
        {S.N_FAMILIES: (S.FAMILY_ID, "size"), **{c: (c, "sum") for c in S.SPECIES_COLUMNS}},
    )
    for part in (plots, corrals, herds):
        part.index = part.index.astype("string")
        table = table.merge(part, left_on=S.COMMUNITY, right_index=True, how="left")
    counts = [S.N_PLOTS, S.N_CORRALS, S.N_FAMILIES, *S.SPECIES_COLUMNS]
    table[counts] = table[counts].fillna(0).astype("int64")
    table[S.PLOTS_HA] = table[S.PLOTS_HA].astype("float64").fillna(0.0)
    if total:
        sums = table[[S.PLOTS_HA, *counts]].sum()
        row = {S.COMMUNITY: TOTAL_LABEL, **sums.to_dict()}
        table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)
        table[counts] = table[counts].astype("int64")
    return table[list(S.SUMMARY_COLUMNS)]
