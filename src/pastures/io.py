"""Reading and writing files: the only module (with the CLI) that touches disk.

Outputs are written through :func:`atomic_output`: to a temporary file beside the
destination, renamed into place only when complete, so an interrupted run never
leaves a half-written file that looks complete. Inputs are opened read-only.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write to; move it onto `path` only on success.

    The temporary file lives in the destination folder (same file system, so the
    final :func:`os.replace` is atomic) and keeps the destination's suffix, so
    drivers that choose a format by extension (GDAL, pandas) still work. On any
    exception the temporary file is removed and the destination is untouched.

    Parameters
    ----------
    path
        Final destination. Its parent folder is created if needed.

    Yields
    ------
    Path
        Where to write.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.stem}.{os.getpid()}.part{dest.suffix}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
