"""Vegetation index formulas and the registry (pastures.indices)."""

from __future__ import annotations

import numpy as np
import pytest

from pastures import indices
from pastures.errors import LayerError, ParameterError
from pastures.indices import INDICES, IndexSpec, compute_index, register_index

# One pixel: blue 0.05, green 0.1, red 0.1, NIR 0.4, SWIR1 0.24.
BANDS = {
    name: np.array([[value]], dtype=np.float32)
    for name, value in {"blue": 0.05, "green": 0.1, "red": 0.1, "nir": 0.4, "swir16": 0.24}.items()
}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ndvi", 0.3 / 0.5),  # (0.4 - 0.1) / (0.4 + 0.1)
        ("savi", 1.5 * 0.3 / 1.0),  # (1 + 0.5)(0.3) / (0.5 + 0.5)
        ("msavi2", (1.8 - np.sqrt(1.8**2 - 8 * 0.3)) / 2),  # 2*0.4 + 1 = 1.8
        ("evi", 2.5 * 0.3 / (0.4 + 0.6 - 0.375 + 1)),
        ("ndmi", 0.16 / 0.64),
        # NDWI = (0.1 - 0.4) / 0.5 = -0.6, NDII = 0.25: IB = -0.85 / -0.35
        ("bofedal", (-0.6 - 0.25) / (-0.6 + 0.25)),
    ],
)
def test_index_values_worked_by_hand(name, expected):
    result = compute_index(name, BANDS)
    assert result.dtype == np.float32
    assert result[0, 0] == pytest.approx(expected, rel=1e-6)


def test_masked_and_missing_pixels_are_nan():
    red = np.array([0.1, 0.1, np.nan], dtype=np.float32)
    nir = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    valid = np.array([True, False, True])
    out = compute_index("ndvi", {"red": red, "nir": nir}, valid=valid)
    assert out[0] == pytest.approx(2 / 3)
    assert np.isnan(out[1:]).all()


def test_output_array_is_reused():
    out = np.empty((1, 1), dtype=np.float32)
    assert compute_index("ndvi", BANDS, out=out) is out


def test_float32_stays_float32_with_float_constants():
    # 7.5 and 2.5 are float literals: they must not promote the arithmetic to float64.
    result = compute_index("evi", {k: np.repeat(v, 3, axis=1) for k, v in BANDS.items()})
    assert result.dtype == np.float32


def test_missing_band_names_the_index_and_band():
    with pytest.raises(LayerError, match=r"'evi' needs band\(s\) blue"):
        compute_index("evi", {"red": BANDS["red"], "nir": BANDS["nir"]})


def test_unknown_index():
    with pytest.raises(ParameterError, match=r"Unknown index 'ndxx'.*ndvi"):
        compute_index("ndxx", BANDS)


def test_a_new_index_is_one_entry():
    try:
        register_index(
            IndexSpec("gndvi", ("green", "nir"), "(nir - green) / (nir + green)", "Green NDVI", "")
        )
        assert compute_index("gndvi", BANDS)[0, 0] == pytest.approx(0.6)
        assert indices.bands_needed(["gndvi", "evi"]) == ("green", "nir", "blue", "red")
    finally:
        INDICES.pop("gndvi", None)


def test_bad_expression_is_rejected_at_registration():
    with pytest.raises(ParameterError, match="expression"):
        register_index(IndexSpec("bad", ("nir",), "nir +* 2", "", ""))
    assert "bad" not in INDICES


def test_parallel_kernel_gives_the_same_values(monkeypatch):
    rng = np.random.default_rng(0)
    bands = {k: rng.uniform(0.01, 0.5, (50, 40)).astype(np.float32) for k in ("red", "nir")}
    valid = rng.random((50, 40)) > 0.2
    serial = compute_index("ndvi", bands, valid=valid)
    monkeypatch.setattr(indices, "PARALLEL_MIN_PIXELS", 0)
    np.testing.assert_array_equal(compute_index("ndvi", bands, valid=valid), serial)


def test_zero_over_zero_is_nan_not_an_error():
    zero = np.zeros((1, 2), dtype=np.float32)
    assert np.isnan(compute_index("ndvi", {"red": zero, "nir": zero})).all()


def test_values_outside_the_valid_range_are_masked_and_counted():
    # NIR + red near 0 (dark water after the -0.1 offset): NDVI = (0.0151 + 0.0149) /
    # (0.0151 - 0.0149) = 150 by hand; a valid pixel stays, the impossible one is masked.
    red = np.array([-0.0149, 0.1], dtype=np.float32)
    nir = np.array([0.0151, 0.5], dtype=np.float32)
    raw = compute_index("ndvi", {"red": red, "nir": nir}, mask_range=False)
    assert raw[0] == pytest.approx(150.0, rel=1e-3)
    values = raw.copy()
    assert indices.mask_out_of_range("ndvi", values) == 1
    assert np.isnan(values[0])
    assert values[1] == pytest.approx(2 / 3)
    masked = compute_index("ndvi", {"red": red, "nir": nir})  # the default masks them
    assert np.isnan(masked[0])
    assert INDICES["ndvi"].valid_range == (-1.0, 1.0)
    assert INDICES["bofedal"].valid_range is None


def test_bofedal_index_is_masked_where_its_denominator_is_noise():
    # Green 0.1, NIR 0.3: NDWI = -0.2/0.4 = -0.5. SWIR 0.1: NDII = 0.2/0.4 = 0.5, so
    # NDWI + NDII = 0 and IB = -1/0: masked. SWIR 0.1 -> 0.097: NDII = 0.203/0.397 =
    # 0.5113, sum 0.0113 < 0.05: still masked (IB would be -89). SWIR 0.05: NDII =
    # 0.25/0.35 = 0.7143, sum 0.2143: IB = (-0.5 - 0.7143) / 0.2143 = -5.667 by hand.
    green = np.full(3, 0.1, dtype=np.float32)
    nir = np.full(3, 0.3, dtype=np.float32)
    swir = np.array([0.1, 0.097, 0.05], dtype=np.float32)
    ib = compute_index("bofedal", {"green": green, "nir": nir, "swir16": swir})
    assert np.isnan(ib[0])
    assert np.isnan(ib[1])
    ndii = (0.3 - 0.05) / (0.3 + 0.05)
    assert ib[2] == pytest.approx((-0.5 - ndii) / (-0.5 + ndii), rel=1e-5)
    assert indices.BOFEDAL_MIN_DENOMINATOR == 0.05


def test_computable_splits_indices_by_the_bands_present():
    ok, skipped = indices.computable(list(indices.DEFAULT_INDICES), ["blue", "green", "red", "nir"])
    assert ok == ["ndvi", "savi", "msavi2", "evi"]
    assert skipped == {"ndmi": ["swir16"], "bofedal": ["swir16"]}
