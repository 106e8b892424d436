"""The exception and warning family of `pastures`.

Every error a user can cause derives from :class:`PasturesError` and also from
the matching builtin, so callers may catch either (the pattern of rasterio's
``errors.py``). Messages name the file, layer, feature or field at fault and say
how to fix it; the CLI prints them without a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pastures.i18n import N_, NP_, _, pgettext

Severity = Literal["error", "warning"]


class PasturesError(Exception):
    """Root of every error raised by `pastures` for bad input or settings."""


class InputFileError(PasturesError, OSError):
    """A file is missing, unreadable, truncated or of an unsupported format."""


class LayerError(PasturesError, ValueError):
    """A layer or field the user named does not exist or has the wrong kind of data."""


class CRSError(PasturesError, ValueError):
    """A coordinate reference system is missing, unknown or unsuitable."""


class ParameterError(PasturesError, ValueError):
    """A parameter or option is out of range or contradicts another one."""


class OutputError(PasturesError, OSError):
    """An output file or folder cannot be written (permissions, full disk, a folder in the way)."""


class MissingDependencyError(PasturesError, ImportError):
    """An optional part of `pastures` needs a package that is not installed."""


#: The severities in words (translated when a problem is shown).
SEVERITY_WORDS = (N_("error"), N_("warning"))

#: The validation rules in words (translated when a problem is shown; the identifier
#: itself, e.g. ``outside-area``, stays the same in every language).
RULE_WORDS = (
    NP_("validation rule", "all-masked"),
    NP_("validation rule", "bad-coordinates"),
    NP_("validation rule", "bad-count"),
    NP_("validation rule", "bad-year"),
    NP_("validation rule", "corral-community"),
    NP_("validation rule", "duplicate-key"),
    NP_("validation rule", "empty-layer"),
    NP_("validation rule", "failed-task"),
    NP_("validation rule", "family-conflict"),
    NP_("validation rule", "file"),
    NP_("validation rule", "geometry-type"),
    NP_("validation rule", "implausible-count"),
    NP_("validation rule", "index-skipped"),
    NP_("validation rule", "invalid-geometry"),
    NP_("validation rule", "layer"),
    NP_("validation rule", "malformed-item"),
    NP_("validation rule", "missing-crs"),
    NP_("validation rule", "missing-field"),
    NP_("validation rule", "missing-value"),
    NP_("validation rule", "no-overlap"),
    NP_("validation rule", "not-degrees"),
    NP_("validation rule", "not-optical"),
    NP_("validation rule", "null-geometry"),
    NP_("validation rule", "open-track"),
    NP_("validation rule", "out-of-range"),
    NP_("validation rule", "outside-area"),
    NP_("validation rule", "outside-community"),
    NP_("validation rule", "overlap"),
    NP_("validation rule", "project-file"),
    NP_("validation rule", "swapped-coordinates"),
    NP_("validation rule", "total-mismatch"),
    NP_("validation rule", "unknown-category"),
    NP_("validation rule", "unknown-community"),
    NP_("validation rule", "unknown-corral"),
    NP_("validation rule", "unknown-pasture-type"),
    NP_("validation rule", "unknown-raster"),
    NP_("validation rule", "unknown-species"),
    NP_("validation rule", "unreadable-geometry"),
    NP_("validation rule", "unreadable-scene"),
    NP_("validation rule", "unreadable-stac"),
    NP_("validation rule", "unusable-scene"),
    NP_("validation rule", "zero-area"),
)


def rule_word(rule: str) -> str:
    """A rule's identifier in the command line's language (itself when not in the catalog)."""
    return pgettext("validation rule", rule)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can.

    Attributes
    ----------
    severity
        ``"error"`` blocks the run; ``"warning"`` was repaired or is worth a look.
    rule
        Short identifier of the validation rule (e.g. ``"duplicate-code"``).
    message
        What is wrong and how to fix it, in one or two sentences.
    source
        File (and layer) the problem was found in.
    feature
        Feature or row identifier (code, name or 1-based row), if any.
    field
        Field (column) at fault, if any.
    """

    severity: Severity
    rule: str
    message: str
    source: str = ""
    feature: str = ""
    field: str = ""

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.source,
                _("feature {feature}").format(feature=self.feature) if self.feature else "",
                _("field '{field}'").format(field=self.field) if self.field else "",
            )
            if part
        )
        prefix = f"{where}: " if where else ""
        return f"[{_(self.severity)} {rule_word(self.rule)}] {prefix}{self.message}"


class ValidationError(PasturesError, ValueError):
    """Input failed validation; carries every problem found, not just the first.

    Parameters
    ----------
    problems
        All problems found (errors and warnings).
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        lines = [f"{len(errors)} problem(s) found:"] + [f"  {p}" for p in errors]
        super().__init__("\n".join(lines))


class PasturesWarning(UserWarning):
    """Base class of the warnings `pastures` emits when it repaired something."""


class GeometryRepairedWarning(PasturesWarning):
    """An invalid geometry was repaired; the message states the change in area."""


class ProjectError(ValidationError):
    """A project file cannot be used; carries every problem found, each naming its key."""
