"""numba, made ready for the compiled kernels without importing scipy.linalg.

numba (0.68) imports :mod:`numba.np.arraymath` the first time it loads or compiles a
kernel in a process, and that module calls ``numba.np.linalg.ensure_blas()`` at
import. The call imports ``scipy.linalg.cython_blas``, and with it all of
:mod:`scipy.linalg` (and, through scipy's array-API layer, ``numpy.f2py``), only to
set ``numba.np.arraymath._HAVE_BLAS``, which decides whether ``np.correlate`` and
``np.convolve`` inside a kernel call BLAS or a plain loop. No kernel of pastures uses
them, nor ``np.dot`` or ``np.linalg`` (those check for scipy again when they are
compiled, so they still work in a process that has run this). Importing scipy.linalg
took about 0.17 s of every soil-loss run, a twentieth of a 4000² MFD chain.

:func:`import_arraymath` imports :mod:`numba.np.arraymath` with ``scipy.linalg``
marked absent in :data:`sys.modules` for the duration of that import (about 0.03 s),
so that ``ensure_blas`` fails at once and numba takes its loop. It does nothing when
either module is already imported (scipy.linalg then costs nothing more). The modules
with kernels call it when they are imported.
"""

from __future__ import annotations

import sys

_ARRAYMATH = "numba.np.arraymath"
_LINALG = "scipy.linalg"


def import_arraymath() -> None:
    """Import numba's array maths once, without scipy.linalg (see the module's note)."""
    if _ARRAYMATH in sys.modules or _LINALG in sys.modules:
        return
    sys.modules[_LINALG] = None  # type: ignore[assignment]  # an import of it fails at once
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if _LINALG in sys.modules and sys.modules[_LINALG] is None:
            del sys.modules[_LINALG]
