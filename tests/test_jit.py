"""pastures._jit: numba's array maths loaded without scipy.linalg, and nothing broken by it.

Each case runs in a fresh interpreter: what is checked is the state of a process's
modules, which the test session itself has long since loaded.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_kernels_load_without_scipy_linalg_which_still_imports_afterwards():
    out = _run(
        """
        import sys
        import numpy as np
        from pastures import terrain
        assert "numba.np.arraymath" in sys.modules
        assert "scipy.linalg" not in sys.modules
        z = np.array([[3, 3, 3], [3, 1, 3], [3, 3, 3]], dtype=np.float32)
        filled = terrain.fill_depressions(z)
        assert "scipy.linalg" not in sys.modules
        import scipy.linalg
        print(float(filled[1, 1]), scipy.linalg.det(np.eye(2) * 2.0))
        """
    )
    assert out == "3.0 4.0"


def test_a_kernel_with_np_dot_still_compiles_after_it():
    out = _run(
        """
        import numba
        import numpy as np
        import pastures.terrain
        @numba.njit
        def dot(a, b):
            return np.dot(a, b)
        print(dot(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
        """
    )
    assert out == "11.0"


def test_nothing_is_done_when_scipy_linalg_is_already_there():
    out = _run(
        """
        import sys
        import scipy.linalg
        before = sys.modules["scipy.linalg"]
        import pastures.terrain
        import numba.np.arraymath
        print(sys.modules["scipy.linalg"] is before, numba.np.arraymath._HAVE_BLAS)
        """
    )
    assert out == "True True"
