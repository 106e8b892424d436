"""The field map on a phone: headless Chromium at 390 x 844 px, device scale 2, touch, offline.

The run holds the bundled Juli sample's layers (so plot PAS-01 and community Pasiri are
the real sample shapes) and a small rotation plan written here by hand, whose answers
are worked out below: one alpaca group of two families moves every two weeks.

    PAS-01  5-18 Jan 2026,  16 Feb-1 Mar     PAS-02  19 Jan-1 Feb     PAS-03  2-15 Feb

On 21 January 2026 (a day the page's clock is set to) the group is on PAS-02 (grazed
now), comes to PAS-03 on 2 February (12 days: grazed within two weeks) and back to
PAS-01 on 16 February (26 days: resting); after 1 March the plan has ended.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from pastures import outputs as O
from pastures import schema as S
from pastures.io import write_layers
from pastures.sample import sample_paths
from pastures.webmap import ROTATION_COLOURS, build_web_map

pytestmark = pytest.mark.slow

UTM = "EPSG:32719"
PHONE = {"width": 390, "height": 844, "scale": 2, "touch": True}
STAYS = (
    ("PAS-01", "2026-01-05", "2026-01-18"),
    ("PAS-02", "2026-01-19", "2026-02-01"),
    ("PAS-03", "2026-02-02", "2026-02-15"),
    ("PAS-01", "2026-02-16", "2026-03-01"),
)
GROUP = "PAS-C1-ALP-1"


def clock_at(day: dt.date) -> str:
    """Script that sets the page's clock to noon of `day` (local time), still ticking."""
    return f"""(function () {{
  var Real = Date, offset = new Real({day.year}, {day.month - 1}, {day.day}, 12) - Real.now();
  class Shifted extends Real {{
    constructor(...a) {{ if (a.length) {{ super(...a); }} else {{ super(Real.now() + offset); }} }}
    static now() {{ return Real.now() + offset; }}
  }}
  window.Date = Shifted;
}})();"""


def save_screenshots(report: object, prefix: str) -> None:
    """Keep the test's screenshots where PASTURES_SCREENSHOTS names a folder, to look at."""
    folder = os.environ.get("PASTURES_SCREENSHOTS")
    if folder:
        for name, png in report.screenshots.items():  # type: ignore[attr-defined]
            (Path(folder) / f"{prefix}_{name}.png").write_bytes(png)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("phone") / "run"
    paths = sample_paths()
    layers = {
        kind: gpd.read_file(paths[kind]).to_crs(UTM)
        for kind in (S.COMMUNITIES, S.PLOTS, S.CORRALS, S.WATER_POINTS)
    }
    write_layers(layers, folder / "layers.gpkg")
    (folder / "rotation").mkdir()
    pd.DataFrame(
        {
            S.GROUP_ID: GROUP,
            S.COMMUNITY: "Pasiri",
            S.LOCATION_ID: [code for code, _, _ in STAYS],
            S.LOCATION_KIND: "plot",
            S.START: [start for _, start, _ in STAYS],
            S.END: [end for _, _, end in STAYS],
            S.ALPACAS: 120,
            S.LLAMAS: 0,
            S.SHEEP: 15,
        }
    ).to_csv(folder / O.RUN_FILES["schedule"], index=False)
    pd.DataFrame(
        {
            S.GROUP_ID: GROUP,
            S.COMMUNITY: "Pasiri",
            S.CORRAL_ID: "PAS-C1",
            S.FAMILY_ID: ["PAS-F001", "PAS-F002"],
            S.ALPACAS: [70, 50],
            S.LLAMAS: 0,
            S.SHEEP: [15, 0],
        }
    ).to_csv(folder / O.RUN_FILES["groups"], index=False)
    # the sample's layers: the map must say its data are illustrative
    record = {"format": "pastures-provenance/1", "illustrative": True}
    (folder / O.RUN_FILES["provenance"]).write_text(json.dumps(record), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def page(sample_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    html = tmp_path_factory.mktemp("phone-map") / "map.html"
    # no fixed date: the page reads the rotation for the phone's own clock
    html.write_text(build_web_map(O.read_run(sample_run), lang="es"), encoding="utf-8")
    return html


@pytest.fixture(scope="module")
def inside_pas01(sample_run: Path) -> tuple[float, float]:
    plots = gpd.read_file(sample_run / "layers.gpkg", layer=S.PLOTS)
    plot = plots[plots[S.PLOT_CODE] == "PAS-01"].geometry.iloc[0]
    # 30 m inside the outline, so the simplified outline in the page holds it too
    point = gpd.GeoSeries([plot.buffer(-30).representative_point()], crs=plots.crs)
    lonlat = point.to_crs("EPSG:4326").iloc[0]
    return lonlat.y, lonlat.x


@pytest.fixture(scope="module")
def off_the_plots(sample_run: Path) -> tuple[float, float, str, float]:
    """A point in Pasiri at least 100 m from every plot: lat, lon, nearest plot, metres."""
    layers = {
        k: gpd.read_file(sample_run / "layers.gpkg", layer=k) for k in (S.PLOTS, S.COMMUNITIES)
    }
    plots, communities = layers[S.PLOTS], layers[S.COMMUNITIES]
    pasiri = communities[communities[S.COMMUNITY] == "Pasiri"].geometry.iloc[0]
    point = pasiri.difference(plots.buffer(100).union_all()).representative_point()
    distances = plots.distance(point)  # metres, in UTM: independent of the page's geometry
    nearest = int(distances.idxmin())
    lonlat = gpd.GeoSeries([point], crs=plots.crs).to_crs("EPSG:4326").iloc[0]
    return lonlat.y, lonlat.x, plots[S.PLOT_CODE].iloc[nearest], float(distances.iloc[nearest])


#: Every visible control's size: at load, then with each folded panel opened.
CONTROL_SIZES = """(function () {
  function sizes() {
    return Array.from(document.querySelectorAll(
      '.leaflet-control a, .leaflet-control button, .leaflet-control select, ' +
      '.leaflet-control input, .leaflet-control summary, .leaflet-control-layers-toggle'))
      .filter(e => !e.closest('.leaflet-control-attribution'))  // Leaflet's credit link
      .filter(e => { var r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
      .map(e => { var r = e.getBoundingClientRect();
                  return [e.tagName + '.' + e.className + ' ' + (e.title || e.type || ''),
                          Math.min(r.width, r.height)]; });
  }
  var out = sizes(), m = pasturesMap;
  var buttons = Array.from(document.querySelectorAll('.pm-fold-btn a'));
  buttons.forEach(b => { b.click(); out = out.concat(sizes()); b.click(); });
  document.querySelector('.leaflet-control-layers').classList.add(
    'leaflet-control-layers-expanded');
  out = out.concat(sizes());
  document.querySelector('.leaflet-control-layers').classList.remove(
    'leaflet-control-layers-expanded');
  return {count: out.length, folds: buttons.length, small: out.filter(s => s[1] < 44)};
})()"""

#: Every plot's popup, opened as a tap opens it: what does not fit, and the chart's text.
POPUPS = """(function () {
  var m = pasturesMap.map, bad = [], n = 0, minText = 99;
  pasturesMap.rotation.eachLayer(function (layer) {
    layer.fire('click', {latlng: layer.getBounds().getCenter()});
    var box = document.querySelector('.leaflet-popup-content');
    var pop = document.querySelector('.plot-popup');
    n += 1;
    [box, pop].forEach(function (e) {
      if (e.scrollWidth > e.clientWidth) { bad.push([pop.querySelector('h4').textContent,
                                                     e.scrollWidth, e.clientWidth]); }
    });
    var details = pop.querySelector('details');
    if (details) {
      details.open = true;
      pop.querySelectorAll('svg.spark text').forEach(function (t) {
        var px = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
        minText = Math.min(minText, px);
      });
      if (box.scrollWidth > box.clientWidth) { bad.push(['chart', box.scrollWidth]); }
    }
    m.closePopup();
  });
  return {n: n, bad: bad, minText: minText, width: m.getSize().x};
})()"""

ROTATION_ON_MAP = """(function () {
  var out = {};
  pasturesMap.rotation.eachLayer(function (l) {
    out[l.feature.properties.code] = l.options.fillColor;
  });
  return out;
})()"""

GO_TO_PASIRI = """(function () {
  var s = document.querySelector('select.pm-zoom');
  s.value = 'Pasiri'; s.dispatchEvent(new Event('change'));
  var labels = Array.from(document.querySelectorAll('.plot-label, .community-label'))
    .map(e => [e.textContent, e.getBoundingClientRect()]);
  var overlapping = 0;
  labels.forEach((a, i) => labels.slice(i + 1).forEach(b => {
    var p = a[1], q = b[1];
    if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) {
      overlapping += 1;
    }
  }));
  return {plots: Array.from(document.querySelectorAll('.plot-label')).map(e => e.textContent),
          overlapping: overlapping, zoom: pasturesMap.map.getZoom()};
})()"""

COMMUNITY_LABELS_AT_EVERY_ZOOM = """(function () {
  var m = pasturesMap.map, worst = 0;
  for (var z = m.getMinZoom() + 8; z <= 17; z++) {
    m.setZoom(z, {animate: false}); pasturesMap.placeLabels();
    var r = Array.from(document.querySelectorAll('.community-label'))
      .map(e => e.getBoundingClientRect());
    r.forEach((p, i) => r.slice(i + 1).forEach(q => {
      if (p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom) {
        worst += 1;
      }
    }));
  }
  return worst;
})()"""


def tap_plot(code: str) -> str:
    """Script that brings plot `code` into view and gives the point to tap on it."""
    return f"""(function () {{
  var m = pasturesMap.map, l = null;
  pasturesMap.rotation.eachLayer(x => {{ if (x.feature.properties.code === '{code}') l = x; }});
  m.setView(l.getBounds().getCenter(), 16, {{animate: false}});
  var p = m.latLngToContainerPoint(l.getBounds().getCenter());
  return [p.x, p.y];
}})()"""


LOCATE_BUTTON = """(function () {
  var b = document.querySelector('.pm-locate').getBoundingClientRect();
  return [b.left + b.width / 2, b.top + b.height / 2];
})()"""


def test_the_map_on_a_phone_in_the_plan(page: Path, inside_pas01: tuple[float, float]) -> None:
    from browser import open_page

    report = open_page(
        page,
        **PHONE,
        geolocation=(*inside_pas01, 12.0),
        before_load=clock_at(dt.date(2026, 1, 21)),
        expressions={
            "viewport": "document.querySelector('meta[name=viewport]').content",
            "day": "pasturesMap.day",
            "colours": ROTATION_ON_MAP,
            "banner": "document.querySelectorAll('.pm-banner').length",
            "controls": CONTROL_SIZES,
            "popups": POPUPS,
            "zoom_in": "document.querySelector('.leaflet-control-zoom-in').title",
        },
        actions=[("locate", LOCATE_BUTTON), ("popup", tap_plot("PAS-02"))],
        expressions_after={
            "popup": "document.querySelector('.plot-popup').textContent",
            "where": "document.querySelector('.pm-where-text').textContent",
            "position": "document.querySelectorAll('path.pm-here').length",
            "pasiri": GO_TO_PASIRI,
            "community_overlaps": COMMUNITY_LABELS_AT_EVERY_ZOOM,
        },
    )
    save_screenshots(report, "phone")
    assert report.exceptions == []
    assert report.console_errors == []
    assert report.outside_requests == []
    found = report.found
    assert "user-scalable=no" not in found["viewport"]
    assert found["zoom_in"] == "Acercar"  # Leaflet's own words, in the map's language
    # the rotation of 21 January 2026, read on the phone's clock
    assert found["day"] == "2026-01-21"
    now, soon, resting, _ = ROTATION_COLOURS
    colours = found["colours"]
    assert colours["PAS-02"] == now
    assert colours["PAS-03"] == soon
    assert colours["PAS-01"] == resting
    assert found["banner"] == 0
    # every control a finger can hit (the folded panels opened one by one)
    assert found["controls"]["folds"] == 2  # title and legend fold into buttons
    assert found["controls"]["small"] == []
    assert found["controls"]["count"] > 10
    popups = found["popups"]
    assert popups["n"] == 40  # the sample's plots
    assert popups["bad"] == []
    assert popups["minText"] >= 11
    # my location, inside PAS-01
    assert found["position"] == 1
    assert "Está en la parcela PAS-01 (Pasiri)." in found["where"]
    # a tap on PAS-02: who is there, with heads and families, and when it rests
    for words in (
        "Pastorean ahora: PAS-C1-ALP-1 (120 alp, 15 ov)",
        "Familias: PAS-F001, PAS-F002",
        "Descansa desde: 2 feb 2026",
    ):
        assert words in found["popup"], words
    # the plots' codes at "Ir a comunidad…" Pasiri, and no label over another
    assert {"PAS-01", "PAS-02", "PAS-03"} <= set(found["pasiri"]["plots"])
    assert found["pasiri"]["overlapping"] == 0
    assert found["community_overlaps"] == 0


def test_a_day_after_the_plan_shows_the_banner(
    page: Path, off_the_plots: tuple[float, float, str, float]
) -> None:
    from browser import open_page

    lat, lon, nearest, metres = off_the_plots
    report = open_page(
        page,
        **PHONE,
        geolocation=(lat, lon, 20.0),
        before_load=clock_at(dt.date(2026, 4, 1)),
        expressions={
            "banner": "(document.querySelector('.pm-banner') || {}).textContent",
            "colours": ROTATION_ON_MAP,
        },
        actions=[("locate", LOCATE_BUTTON), ("popup", tap_plot("PAS-02"))],
        expressions_after={
            "popup": "document.querySelector('.plot-popup').textContent",
            "where": "document.querySelector('.pm-where-text').textContent",
        },
        # an online base map, with the network cut: its tiles fail, and the map says why
        probe="""Array.from(document.querySelectorAll('.leaflet-control-layers label'))
  .filter(l => l.textContent.indexOf('OpenStreetMap') >= 0)
  .forEach(l => l.querySelector('input').click())""",
        probe_expressions={"toast": "(document.querySelector('.pm-toast') || {}).textContent"},
    )
    assert report.exceptions == []
    assert report.console_errors == []
    assert report.outside_requests == []
    found = report.found
    assert "El plan de rotación terminó el 1 mar 2026" in found["banner"]
    assert set(found["colours"].values()) == {ROTATION_COLOURS[3]}  # no plot reads "resting"
    assert "Fuera del plan" in found["popup"]
    # off the plots: the community, and the nearest plot at its distance (shapely, in UTM)
    shown = re.search(r"Parcela más cercana: (\S+), a ([\d.]+) (k?m)\.", found["where"])
    assert found["where"].startswith("Está en la comunidad Pasiri."), found["where"]
    assert shown, found["where"]
    assert shown[1] == nearest
    if shown[3] == "km":  # written to 0.1 km
        assert float(shown[2]) * 1000 == pytest.approx(metres, abs=50 + 0.01 * metres)
    else:
        assert float(shown[2]) == pytest.approx(metres, abs=max(3.0, 0.02 * metres))
    assert report.probe is not None
    assert report.probe.found["toast"] == (
        "Calles OpenStreetMap (en línea): necesita internet (ahora sin conexión)"
    )


#: At load: what a phone shows before anyone touches it.
FIRST_VIEW = """(function () {
  var m = pasturesMap.map, box = m.getContainer().getBoundingClientRect();
  function seen(e) {
    var r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(e).visibility !== 'hidden';
  }
  var controls = Array.from(document.querySelectorAll('.leaflet-control, .pm-topbar'))
    .filter(e => !e.classList.contains('leaflet-control-attribution') && seen(e))
    .map(e => e.getBoundingClientRect());
  function hit(p, q) {
    return p.left < q.right && q.left < p.right && p.top < q.bottom && q.top < p.bottom;
  }
  var off = [], covered = [];
  pasturesMap.communities.eachLayer(function (l) {
    var b = l.getBounds(), nw = m.latLngToContainerPoint(b.getNorthWest()),
        se = m.latLngToContainerPoint(b.getSouthEast());
    if (nw.x < 0 || nw.y < 0 || se.x > box.width || se.y > box.height) {
      off.push(l.feature.properties.name);
    }
  });
  var labels = Array.from(document.querySelectorAll('.community-label'));
  labels.forEach(function (e) {
    if (controls.some(c => hit(e.getBoundingClientRect(), c))) { covered.push(e.textContent); }
  });
  var bar = document.querySelector('.pm-topbar');
  var clear = document.querySelector('.pm-measure-clear');
  return {off: off, covered: covered, labels: labels.length,
          communities: pasturesMap.communities.getLayers().length,
          bar: seen(bar) ? bar.textContent : null,
          bar_select: seen(bar.querySelector('select.pm-zoom')),
          clear: [clear.title, clear.getAttribute('aria-label'), seen(clear)]};
})()"""

MEASURE_BUTTON = """(function () {
  var b = document.querySelector('.pm-measure').getBoundingClientRect();
  return [b.left + b.width / 2, b.top + b.height / 2];
})()"""

CLEAR_AFTER_MEASURE = """(function () {
  var c = document.querySelector('.pm-measure-clear').getBoundingClientRect();
  return c.width > 0 && c.height > 0;
})()"""


def test_a_phone_first_sees_every_community_and_the_warning(page: Path) -> None:
    from browser import open_page

    report = open_page(
        page,
        **PHONE,
        before_load=clock_at(dt.date(2026, 1, 21)),
        expressions={"first": FIRST_VIEW},
        actions=[("measure", MEASURE_BUTTON)],
        expressions_after={"clear_shown": CLEAR_AFTER_MEASURE},
    )
    assert report.exceptions == []
    assert report.console_errors == []
    first = report.found["first"]
    assert first["communities"] == 14  # the sample's
    assert first["off"] == []  # every community whole on the screen at load
    assert first["labels"] == 14
    assert first["covered"] == []  # no name under a button or a panel
    # the warning stays in sight, folded panels or not, with "go to community"
    assert "Datos ilustrativos" in first["bar"]
    assert "no usar para decisiones" in first["bar"]
    assert first["bar_select"]
    # the clear button is named in the map's language and shows with a measurement only
    assert first["clear"] == ["Borrar medida", "Borrar medida", False]
    assert report.found["clear_shown"] is True


def test_a_laptop_first_sees_every_community_and_no_list_over_them(page: Path) -> None:
    from browser import open_page

    report = open_page(
        page,
        width=1366,
        height=768,
        before_load=clock_at(dt.date(2026, 1, 21)),
        expressions={
            "first": FIRST_VIEW,
            "list_open": "!!document.querySelector('.leaflet-control-layers-expanded')",
        },
    )
    assert report.exceptions == []
    assert report.console_errors == []
    found = report.found
    assert found["first"]["off"] == []
    assert found["first"]["covered"] == []
    assert found["first"]["labels"] == 14
    assert found["first"]["bar"] is None  # a laptop has the warning in its info box
    assert found["list_open"] is False  # at 1366 x 768 the open list would cover communities
