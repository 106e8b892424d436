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

from pastures.i18n import N_, _

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
        return f"[{_(self.severity)} {self.rule}] {prefix}{self.message}"


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
