/* The field map's own script (pastures/webmap/map.js), inlined after Leaflet.
 *
 * It runs after `var PASTURES = {map, control, layers, info, footer, data}`, written
 * by pastures.webmap.page: the Leaflet map, its layer control, the layer groups by
 * key, and the data of pastures.webmap.data (every text in it is escaped HTML).
 * It draws the plots and their popups, the rotation of the day read from the whole
 * plan on the device's clock, plot and community labels that never overlap, the
 * legends, "my location", full screen, measuring and "go to community".
 */
(function () {
  "use strict";
  var P = PASTURES, map = P.map, D = P.data, G = P.layers, T = D.text;
  var measuring = false;
  // quarter zoom steps: "go to community" then fills the screen with its plots
  map.options.zoomSnap = 0.25;

  function narrow() { return map.getSize().x < 700; }
  // a finger has no hover: tooltips would only flash on a tap and cover the popup
  var hover = !(window.matchMedia && window.matchMedia("(hover: none)").matches);
  function tip(layer, content, options) { if (hover) { layer.bindTooltip(content, options); } }
  function fill(text, values) {  // "{name}" placeholders of a translated text
    return text.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? values[k] : m; });
  }
  function escapeText(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function metres(m) { return m >= 1000 ? (m / 1000).toFixed(1) + " km" : Math.round(m) + " m"; }

  // --- the day the rotation is read for: the device's clock, or the date fixed at build
  function dayNumber(iso) {
    var p = iso.split("-");
    return Math.round(Date.UTC(+p[0], +p[1] - 1, +p[2]) / 864e5);
  }
  function isoDay(n) { return new Date(n * 864e5).toISOString().slice(0, 10); }
  // dates for people, the map's language's way ("10 ago 2026"), as the Python side writes them
  var dateFormat = null;
  try {
    dateFormat = new Intl.DateTimeFormat(D.lang || undefined,
      {day: "numeric", month: "short", year: "numeric", timeZone: "UTC"});
  } catch (err) { dateFormat = null; }
  function humanDay(n) { return dateFormat ? dateFormat.format(new Date(n * 864e5)) : isoDay(n); }
  function today() {
    var d = new Date();
    return Math.round(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 864e5);
  }
  var plan = D.plan;
  var day = D.on ? dayNumber(D.on) : today();
  var planStart = plan ? dayNumber(plan.start) : 0;
  var planEnd = plan ? dayNumber(plan.end) : 0;

  /* Who grazes plot p on the day, who next and from when, and when it rests.
     state: 0 grazed now, 1 grazed within soon_days, 2 resting, 3 outside the plan. */
  function rotationOf(p) {
    var out = {state: 3, now: [], next: [], nextDay: null, restFrom: null};
    if (!plan) { return out; }
    var st = plan.stays[p.i] || [], rel = day - planStart, k;
    if (!st.length || day > planEnd) { out.notInPlan = !st.length; return out; }
    var stays = [];
    for (k = 0; k < st.length; k += 3) { stays.push([st[k], st[k + 1], st[k + 2]]); }
    stays.sort(function (a, b) { return a[0] - b[0]; });
    stays.forEach(function (s) {
      if (s[0] <= rel && rel <= s[1]) { out.now.push(s[2]); }
      if (s[0] > rel && (out.nextDay === null || s[0] < out.nextDay)) { out.nextDay = s[0]; }
    });
    stays.forEach(function (s) { if (s[0] === out.nextDay) { out.next.push(s[2]); } });
    // the plot rests from the first day on or after today that no group stays on it
    var rest = rel;
    stays.forEach(function (s) { if (s[0] <= rest && rest <= s[1]) { rest = s[1] + 1; } });
    out.restFrom = rest;
    if (out.now.length) { out.state = 0; }
    else if (out.nextDay !== null && out.nextDay - rel < D.soon_days) { out.state = 1; }
    else { out.state = 2; }
    return out;
  }
  function groupWords(k) {
    var g = plan.groups[k];
    return "<b>" + g.id + "</b>" + (g.heads ? " (" + g.heads + ")" : "");
  }
  function familyWords(ks) {
    var fam = [];  // a family with alpacas in one group and llamas in another is named once
    ks.forEach(function (k) {
      (plan.groups[k].families ? plan.groups[k].families.split(", ") : []).forEach(function (f) {
        if (fam.indexOf(f) < 0) { fam.push(f); }
      });
    });
    return fam.length ? '<div class="pm-fam">' + T.families + ": " + fam.join(", ") + "</div>"
      : "";
  }
  function rotationHtml(p) {
    if (!plan) { return ""; }
    var r = rotationOf(p), lines = [];
    if (r.state === 3) {
      return '<div class="pm-rot outside">' + (r.notInPlan ? T.not_in_plan : T.outside_plan) +
        "</div>";
    }
    if (r.state === 0) {
      lines.push("<div>" + T.grazing_now + ": " + r.now.map(groupWords).join(", ") + "</div>");
      lines.push(familyWords(r.now));
      lines.push("<div><b>" + T.next_rest + ": " + humanDay(planStart + r.restFrom) +
                 "</b></div>");
    } else {
      lines.push("<div><b>" + T.resting + "</b>" + (r.nextDay !== null
        ? " · " + T.rests_until + " " + humanDay(planStart + r.nextDay - 1) : "") + "</div>");
    }
    if (r.nextDay !== null) {
      lines.push("<div><b>" + T.next_grazing + ": " + humanDay(planStart + r.nextDay) +
                 "</b></div>");
      lines.push("<div>" + T.grazing_next + ": " + r.next.map(groupWords).join(", ") + "</div>");
      if (r.state !== 0) { lines.push(familyWords(r.next)); }
    }
    return '<div class="pm-rot' + (r.state === 0 ? "" : " resting") + '">' + lines.join("") +
      "</div>";
  }

  // --- the plot's popup: one column, the rotation first, the chart behind a tap
  function chartSvg(values) {
    var pts = [];
    values.forEach(function (v, k) {
      if (v !== null) { pts.push([dayNumber(D.dates[k]), v / D.series_scale]); }
    });
    if (pts.length < 2) { return ""; }
    var w = 260, h = 90, pl = 34, pr = 6, pt = 8, pb = 18;
    var t0 = pts[0][0], t1 = pts[pts.length - 1][0], tSpan = (t1 - t0) || 1;
    var lo = Math.min.apply(null, pts.map(function (q) { return q[1]; }));
    var hi = Math.max.apply(null, pts.map(function (q) { return q[1]; }));
    var vSpan = (hi - lo) || 1, base = h - pb;
    var line = pts.map(function (q) {
      return (pl + (q[0] - t0) / tSpan * (w - pl - pr)).toFixed(1) + "," +
        (pt + (hi - q[1]) / vSpan * (h - pt - pb)).toFixed(1);
    }).join(" ");
    return '<svg class="spark" viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="' +
      D.series_word + '"><line x1="' + pl + '" y1="' + base + '" x2="' + (w - pr) + '" y2="' +
      base + '" stroke="#999"/><polyline fill="none" stroke="#21918c" stroke-width="1.5" ' +
      'points="' + line + '"/><text x="' + (pl - 3) + '" y="' + (pt + 9) +
      '" text-anchor="end">' + hi.toFixed(2) + '</text><text x="' + (pl - 3) + '" y="' + base +
      '" text-anchor="end">' + lo.toFixed(2) + '</text><text x="' + pl + '" y="' + (h - 3) + '">' +
      isoDay(t0).slice(0, 4) + '</text><text x="' + (w - pr) + '" y="' + (h - 3) +
      '" text-anchor="end">' + isoDay(t1).slice(0, 4) + "</text></svg>";
  }
  function popupHtml(p) {
    var rows = p.r.map(function (r) {
      return "<dt>" + D.popup_words[r[0]] + "</dt><dd>" + r[1] + "</dd>";
    }).join("");
    var chart = chartSvg(p.n);
    return '<div class="plot-popup"><h4>' + D.code_word + " " + p.code + "</h4>" +
      rotationHtml(p) + "<dl>" + rows + "</dl>" +
      (chart ? "<details><summary>" + D.series_word + "</summary>" + chart + "</details>" : "") +
      "</div>";
  }
  function plotPopup(e, p) {
    if (measuring) { return; }
    var size = map.getSize();
    var width = Math.min(340, size.x - 40);
    L.popup({maxWidth: width, minWidth: Math.min(240, width), className: "pm-popup",
             maxHeight: Math.round(size.y * 0.6), autoPanPadding: L.point(10, 10)})
      .setLatLng(e.latlng).setContent(popupHtml(p)).openOn(map);
  }
  // on a phone the boxes would cover an open popup: fold them away while it is open
  map.on("popupopen popupclose", function (e) {
    map.getContainer().classList.toggle("pm-popup-open", narrow() && e.type === "popupopen");
  });

  var ICONS = {
    full: '<svg width="20" height="20" viewBox="0 0 18 18" fill="none" stroke="#222" ' +
          'stroke-width="2"><path d="M2 7V2h5M11 2h5v5M16 11v5h-5M7 16H2v-5"/></svg>',
    measure: '<svg width="22" height="22" viewBox="0 0 20 20" fill="none" stroke="#222" ' +
             'stroke-width="1.6"><path d="M2 14L14 2l4 4L6 18z"/>' +
             '<path d="M5 11l2 2M8 8l2 2M11 5l2 2"/></svg>',
    clear: '<svg width="18" height="18" viewBox="0 0 16 16" stroke="#222" ' +
           'stroke-width="2"><path d="M3 3l10 10M13 3L3 13"/></svg>',
    locate: '<svg width="24" height="24" viewBox="0 0 24 24" fill="none" stroke="#0b4f6c" ' +
            'stroke-width="2"><circle cx="12" cy="12" r="6"/><circle cx="12" cy="12" r="2" ' +
            'fill="#0b4f6c"/><path d="M12 1v4M12 19v4M1 12h4M19 12h4"/></svg>',
    info: '<svg width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="#222" ' +
          'stroke-width="2"><circle cx="12" cy="12" r="10"/><path d="M12 11v6M12 7v1"/></svg>',
    legend: '<svg width="22" height="22" viewBox="0 0 24 24" stroke="#222" stroke-width="1.5">' +
            '<rect x="3" y="4" width="6" height="4" fill="#e66101"/><rect x="3" y="10" ' +
            'width="6" height="4" fill="#fdb863"/><rect x="3" y="16" width="6" height="4" ' +
            'fill="#de77ae"/><path d="M12 6h9M12 12h9M12 18h9"/></svg>'
  };
  function onEach(fn) { return function (feature, layer) { fn(feature.properties, layer); }; }
  function button(container, icon, title, onclick) {
    var a = L.DomUtil.create("a", "pm-btn", container);
    a.href = "#"; a.innerHTML = icon; a.title = title;  // our own constant SVG
    a.setAttribute("role", "button"); a.setAttribute("aria-label", title);
    L.DomEvent.on(a, "click", function (e) { L.DomEvent.preventDefault(e); onclick(a); });
    L.DomEvent.disableClickPropagation(a);
    return a;
  }

  // --- communities and plots
  var communities = L.geoJSON(D.communities, {
    style: function () { return {color: "#111", weight: 2, dashArray: "6 4", fill: false}; },
    interactive: false
  });
  if (G.communities) { communities.addTo(G.communities); }

  var variable = D.variables.length ? D.variables[0] : null;
  function variableColour(p) {
    return variable ? D.palettes[variable.at][p.c[variable.at]] : "#bdbdbd";
  }
  function plotStyle(feature) {
    return {color: "#222", weight: 1.2, fillOpacity: 0.8, fillColor: variableColour(feature.properties)};
  }
  var plots = L.geoJSON(D.plots, {style: plotStyle, onEachFeature: onEach(function (p, layer) {
    tip(layer, function () {
      return p.code + ": " + (variable ? (p.v[variable.at] || T.no_data) : "");
    }, {sticky: true});
    layer.on("click", function (e) { plotPopup(e, p); });
  })});
  if (G.plots) { plots.addTo(G.plots); }

  // --- the rotation of the day
  var rotation = null;
  var stateWords = [T.now, T.next_week, T.resting, T.outside_plan];
  if (G.rotation) {
    rotation = L.geoJSON(D.plots, {
      style: function (f) {
        var c = D.rotation_colours[rotationOf(f.properties).state];
        // opaque: over a dark background a see-through fill turns to another hue
        return {color: "#333", weight: 1.5, fillColor: c, fillOpacity: 0.95};
      },
      onEachFeature: onEach(function (p, layer) {
        tip(layer, function () {
          var r = rotationOf(p), who = r.state === 0 ? r.now : r.next;
          return p.code + ": " + stateWords[r.state] + (who.length && r.state < 2
            ? " (" + who.map(function (k) { return plan.groups[k].id; }).join(", ") + ")" : "");
        }, {sticky: true});
        layer.on("click", function (e) { plotPopup(e, p); });
      })
    }).addTo(G.rotation);
  }
  // the banner: the day falls outside the plan
  var banner = null;
  if (plan && (day > planEnd || day < planStart)) {
    banner = L.DomUtil.create("div", "pm-box pm-banner", map.getContainer());
    banner.innerHTML = fill(day > planEnd ? T.plan_ended : T.plan_starts,
                            {date: humanDay(day > planEnd ? planEnd : planStart)});
    L.DomEvent.disableClickPropagation(banner);
  }

  // --- corrals (brown squares) and water points (blue circles)
  function points(data, group, colour, square) {
    L.geoJSON(data, {
      pointToLayer: function (f, latlng) {
        if (square) {
          return L.marker(latlng, {icon: L.divIcon({className: "",
            html: '<div style="width:12px;height:12px;background:' + colour +
                  ';border:1.5px solid #fff;box-shadow:0 0 2px #000"></div>',
            iconSize: [15, 15]})});
        }
        return L.circleMarker(latlng, {radius: 7, color: "#fff", weight: 1.5,
                                       fillColor: colour, fillOpacity: 1});
      },
      style: function () { return {color: colour, weight: 2, fillOpacity: 0.3}; },
      onEachFeature: onEach(function (p, layer) {
        if (hover) { layer.bindTooltip(p.tip); } else { layer.bindPopup(p.tip); }
      })
    }).addTo(group);
  }
  if (G.corrals) { points(D.corrals, G.corrals, "#8c510a", true); }
  if (G.water) { points(D.water, G.water, "#2166ac", false); }

  // --- labels: community names always, plot codes where they fit; none overlap
  map.createPane("pm-labels").style.zIndex = 640;
  var labelPane = map.getPane("pm-labels");
  labelPane.style.pointerEvents = "none";
  var measureCtx = document.createElement("canvas").getContext("2d");
  function textWidth(text, font) {
    measureCtx.font = font;
    return Math.ceil(measureCtx.measureText(text).width);
  }
  function plainText(html) {
    var d = document.createElement("div"); d.innerHTML = html; return d.textContent;
  }
  var communityItems = [];
  communities.eachLayer(function (layer) {
    var props = layer.feature.properties, text = plainText(props.label);
    var b = layer.getBounds();
    communityItems.push({html: props.label, at: props.at ? L.latLng(props.at) : b.getCenter(),
      w: textWidth(text, "700 13px system-ui, sans-serif") + 10, h: 18,
      size: (b.getNorth() - b.getSouth()) * (b.getEast() - b.getWest())});
  });
  communityItems.sort(function (a, b) { return b.size - a.size; });
  function labelPoint(geom, fallback) {  // area centroid of the largest outer ring
    var best = null, bestArea = 0;
    polygons(geom).forEach(function (poly) {
      var ring = poly[0], a = 0, cx = 0, cy = 0;
      for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        var f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
        a += f; cx += (ring[j][0] + ring[i][0]) * f; cy += (ring[j][1] + ring[i][1]) * f;
      }
      if (a && Math.abs(a) > bestArea) {
        bestArea = Math.abs(a); best = L.latLng(cy / (3 * a), cx / (3 * a));
      }
    });
    return best || fallback;
  }
  var plotItems = [];
  plots.eachLayer(function (layer) {
    var p = layer.feature.properties, b = layer.getBounds();
    plotItems.push({html: p.code, layer: layer, bounds: b,
      at: labelPoint(layer.feature.geometry, b.getCenter()),
      w: textWidth(plainText(p.code), "600 11px system-ui, sans-serif") + 2, h: 13});
  });
  function overlaps(r, placed) {
    for (var k = 0; k < placed.length; k++) {
      var q = placed[k];
      if (r.x0 < q.x1 + 2 && q.x0 < r.x1 + 2 && r.y0 < q.y1 + 2 && q.y0 < r.y1 + 2) {
        return true;
      }
    }
    return false;
  }
  function rectAt(pt, w, h) {
    return {x0: pt.x - w / 2, y0: pt.y - h / 2, x1: pt.x + w / 2, y1: pt.y + h / 2};
  }
  function drawLabel(cls, html, r) {
    var div = L.DomUtil.create("div", cls, labelPane);
    div.innerHTML = html;  // escaped in Python
    div.style.left = Math.round(r.x0) + "px"; div.style.top = Math.round(r.y0) + "px";
    return div;
  }
  /* The boxes drawn over the map (buttons, panels, banners), in layer pixels: no label
     goes under one. */
  function shownBoxes(selector, fn) {  // the page rectangles of the elements on screen
    Array.prototype.forEach.call(map.getContainer().querySelectorAll(selector), function (e) {
      var r = e.getBoundingClientRect();
      if (r.width && r.height && getComputedStyle(e).visibility !== "hidden") { fn(r, e); }
    });
  }
  function controlRects() {
    var box = map.getContainer().getBoundingClientRect(), out = [];
    shownBoxes(".leaflet-control, .pm-banner, .pm-topbar, .pm-toast", function (r, e) {
      if (e.classList.contains("leaflet-control-attribution")) { return; }
      var a = map.containerPointToLayerPoint([r.left - box.left, r.top - box.top]);
      var b = map.containerPointToLayerPoint([r.right - box.left, r.bottom - box.top]);
      out.push({x0: a.x, y0: a.y, x1: b.x, y1: b.y});
    });
    return out;
  }
  function placeLabels() {
    labelPane.innerHTML = "";
    var placed = controlRects(), view = map.getBounds().pad(0.2);
    var shown = {communities: 0, plots: 0};
    if (G.communities && map.hasLayer(G.communities)) {
      communityItems.forEach(function (c) {
        if (!view.contains(c.at)) { return; }
        var pt = map.latLngToLayerPoint(c.at);
        // the centre, else just above or below it, else beside it (off a control's corner);
        // a name that fits nowhere waits for zoom
        var dy = [0, -(c.h + 3), c.h + 3, -2 * (c.h + 3), 2 * (c.h + 3)], tries = [];
        [0, 0.6 * c.w, -0.6 * c.w].forEach(function (dx) {
          dy.forEach(function (y) { tries.push([dx, y]); });
        });
        for (var k = 0; k < tries.length; k++) {
          var r = rectAt(L.point(pt.x + tries[k][0], pt.y + tries[k][1]), c.w, c.h);
          if (!overlaps(r, placed)) {
            placed.push(r); drawLabel("community-label", c.html, r); shown.communities++;
            return;
          }
        }
      });
    }
    if (G.plot_codes && map.hasLayer(G.plot_codes)) {
      var candidates = [];
      plotItems.forEach(function (it) {
        if (!view.intersects(it.bounds)) { return; }
        var sw = map.latLngToLayerPoint(it.bounds.getSouthWest());
        var ne = map.latLngToLayerPoint(it.bounds.getNorthEast());
        var w = ne.x - sw.x, h = sw.y - ne.y;
        // only where the plot on the screen is larger than its label
        if (w >= it.w + 2 && h >= it.h + 2) { candidates.push({it: it, size: w * h}); }
      });
      candidates.sort(function (a, b) { return b.size - a.size; });
      candidates.forEach(function (c) {
        var r = rectAt(map.latLngToLayerPoint(c.it.at), c.it.w, c.it.h);
        if (overlaps(r, placed)) { return; }
        placed.push(r); drawLabel("plot-label", c.it.html, r); shown.plots++;
      });
    }
    labelPane.setAttribute("data-shown", shown.communities + " " + shown.plots);
  }
  map.on("zoomstart", function () { labelPane.innerHTML = ""; });
  map.on("zoomend moveend overlayadd overlayremove resize", placeLabels);

  // --- legends: one box, a section per visible layer, and the variable selector
  var legendSections = {}, colourBy = null;
  var Legend = L.Control.extend({
    options: {position: "bottomright"},
    onAdd: function () {
      var wrap = L.DomUtil.create("div", "pm-fold");
      var bar = L.DomUtil.create("div", "leaflet-bar pm-fold-btn", wrap);
      var div = L.DomUtil.create("div", "pm-box pm-legend pm-foldable", wrap);
      button(bar, ICONS.legend, T.legend, function () { togglePanel(div); });
      L.DomEvent.disableClickPropagation(wrap);
      L.DomEvent.disableScrollPropagation(div);
      if (D.variables.length) {
        colourBy = L.DomUtil.create("div", "pm-colour-by", div);
        var head = L.DomUtil.create("div", "legend-title", colourBy);
        head.innerHTML = T.colour_by;
        var select = L.DomUtil.create("select", "pm-variable", colourBy);
        select.setAttribute("aria-label", plainText(T.colour_by));
        D.variables.forEach(function (v) {
          var o = document.createElement("option");
          o.value = v.key; o.innerHTML = v.label; select.appendChild(o);
        });
        select.onchange = function () {
          variable = D.variables.filter(function (v) { return v.key === select.value; })[0];
          plots.setStyle(plotStyle);
          // a variable chosen is a variable shown: the rotation's colours would hide it
          if (G.plots && !map.hasLayer(G.plots)) { map.addLayer(G.plots); }
          if (G.rotation && map.hasLayer(G.rotation)) { map.removeLayer(G.rotation); }
          refreshLegends();
          closePanels();
        };
      }
      Object.keys(D.legends).forEach(function (k) {
        var s = L.DomUtil.create("div", "pm-legend-" + k, div);
        s.innerHTML = D.legends[k];  // built and escaped in Python
        legendSections[k] = s;
      });
      if (plan) {
        var s = L.DomUtil.create("div", "pm-legend-rotation", div);
        s.innerHTML = '<div class="legend-title">' + T.legend_rotation + " " + T.on_day + " " +
          humanDay(day) + "</div>" + D.rotation_colours.map(function (c, k) {
            return '<div><span class="sw" style="background:' + c + '"></span>' +
              stateWords[k] + "</div>";
          }).join("");
        legendSections.rotation = s;
      }
      return wrap;
    }
  });
  new Legend().addTo(map);
  var legendOf = {plots: null, rotation: "rotation", corrals: "points", water: "points",
                  soil_loss: "soil_loss", risk_raster: "risk_raster"};
  function refreshLegends() {
    var shown = {};
    Object.keys(legendOf).forEach(function (g) {
      if (G[g] && map.hasLayer(G[g])) {
        shown[legendOf[g] || (variable ? variable.key : "")] = true;
      }
    });
    Object.keys(legendSections).forEach(function (k) {
      legendSections[k].style.display = shown[k] ? "" : "none";
    });
    // the selector colours the plots layer: it shows with that layer only
    if (colourBy) { colourBy.style.display = G.plots && map.hasLayer(G.plots) ? "" : "none"; }
  }
  map.on("overlayadd overlayremove", refreshLegends);
  refreshLegends();

  // --- panels that fold into buttons on a phone, and close after a choice
  var panels = [];
  function togglePanel(div) {
    var open = !div.classList.contains("open");
    closePanels();
    div.classList.toggle("open", open);
    if (open && P.control) { P.control.collapse(); }
    placeLabels();
  }
  function closePanels() {
    var was = panels.some(function (d) { return d.classList.contains("open"); });
    panels.forEach(function (d) { d.classList.remove("open"); });
    if (was) { placeLabels(); }
  }
  map.on("click", function () { if (narrow()) { closePanels(); } });

  // --- tools: full screen, my location, measure
  var clearBtn = null;
  function showClear() {
    if (clearBtn) { clearBtn.style.display = measuring || measurePts.length ? "" : "none"; }
  }
  var Tools = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var bar = L.DomUtil.create("div", "leaflet-bar pm-tools");
      var loc = button(bar, ICONS.locate, T.locate, function (a) { toggleLocate(a); });
      loc.classList.add("pm-locate");
      button(bar, ICONS.full, T.fullscreen, function () {
        var box = map.getContainer();
        if (document.fullscreenElement) { document.exitFullscreen(); return; }
        if (box.requestFullscreen) {
          box.requestFullscreen().catch(function () {
            box.classList.toggle("pastures-fullscreen"); map.invalidateSize();
          });
        } else {
          box.classList.toggle("pastures-fullscreen"); map.invalidateSize();
        }
      });
      var measureBtn = button(bar, ICONS.measure, T.measure, function (a) {
        measuring = !measuring;
        a.classList.toggle("on", measuring);
        map.getContainer().style.cursor = measuring ? "crosshair" : "";
        if (measuring) { map.doubleClickZoom.disable(); clearMeasure(); }
        else { map.doubleClickZoom.enable(); }
        showClear();
      });
      measureBtn.classList.add("pm-measure");
      // named in the map's language (title for a mouse, aria-label for a screen reader);
      // shown only while there is a measurement to clear, beside the measure button
      clearBtn = button(bar, ICONS.clear, T.measure_clear, function () {
        clearMeasure(); showClear();
      });
      clearBtn.classList.add("pm-measure-clear");
      clearBtn.style.display = "none";
      return bar;
    }
  });
  new Tools().addTo(map);

  // --- my location: the phone's position, offline, and the plot it stands in
  function ringContains(ring, x, y) {  // ray casting over [lng, lat] pairs
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) {
        inside = !inside;
      }
    }
    return inside;
  }
  function polygons(geom) {
    if (!geom) { return []; }
    return geom.type === "Polygon" ? [geom.coordinates]
      : geom.type === "MultiPolygon" ? geom.coordinates : [];
  }
  function contains(geom, x, y) {
    return polygons(geom).some(function (poly) {
      return ringContains(poly[0], x, y) && !poly.slice(1).some(function (hole) {
        return ringContains(hole, x, y);
      });
    });
  }
  function distanceTo(geom, lat, lng) {  // metres to the outline (local flat projection)
    var kx = 111320 * Math.cos(lat * Math.PI / 180), ky = 110540, best = Infinity;
    polygons(geom).forEach(function (poly) {
      poly.forEach(function (ring) {
        for (var i = 1; i < ring.length; i++) {
          var ax = (ring[i - 1][0] - lng) * kx, ay = (ring[i - 1][1] - lat) * ky;
          var bx = (ring[i][0] - lng) * kx, by = (ring[i][1] - lat) * ky;
          var dx = bx - ax, dy = by - ay, len = dx * dx + dy * dy;
          var t = len ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len)) : 0;
          var px = ax + t * dx, py = ay + t * dy;
          best = Math.min(best, Math.sqrt(px * px + py * py));
        }
      });
    });
    return best;
  }
  function whereIs(lat, lng) {
    var inPlot = null, nearest = null, nearestM = Infinity, inCommunity = null;
    D.plots.features.forEach(function (f) {
      if (!inPlot && contains(f.geometry, lng, lat)) { inPlot = f.properties; }
    });
    if (inPlot) {
      return fill(T.in_plot, {code: inPlot.code, community: escapeText(inPlot.community)});
    }
    D.communities.features.forEach(function (f) {
      if (!inCommunity && contains(f.geometry, lng, lat)) { inCommunity = f.properties; }
    });
    D.plots.features.forEach(function (f) {
      var m = distanceTo(f.geometry, lat, lng);
      if (m < nearestM) { nearestM = m; nearest = f.properties; }
    });
    var text = inCommunity ? fill(T.in_community, {name: inCommunity.label}) + " " : "";
    if (nearest) { text += fill(T.nearest_plot, {code: nearest.code, distance: metres(nearestM)}); }
    return text;
  }
  var watchId = null, following = false, here = L.layerGroup().addTo(map), wherePanel = null;
  var whereText = null, followBtn = null, firstFix = true;
  var Where = L.Control.extend({
    options: {position: "bottomleft"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pm-box pm-where");
      L.DomEvent.disableClickPropagation(div);
      whereText = L.DomUtil.create("div", "pm-where-text", div);
      followBtn = L.DomUtil.create("button", "pm-follow", div);
      followBtn.type = "button"; followBtn.innerHTML = T.follow;
      followBtn.setAttribute("aria-pressed", "false");
      L.DomEvent.on(followBtn, "click", function () {
        following = !following;
        followBtn.classList.toggle("on", following);
        followBtn.setAttribute("aria-pressed", String(following));
        if (following && P.here) { map.panTo(P.here); }
      });
      return div;
    }
  });
  function showPosition(pos) {
    var c = pos.coords, at = L.latLng(c.latitude, c.longitude);
    here.clearLayers();
    L.circle(at, {radius: c.accuracy, color: "#0b6efd", weight: 1, fillOpacity: 0.12,
                  interactive: false}).addTo(here);
    // the dot above the plot and community labels, so a code never hides where one stands
    if (!map.getPane("pm-position")) {
      map.createPane("pm-position").style.zIndex = 645;
      map.getPane("pm-position").style.pointerEvents = "none";
    }
    L.circleMarker(at, {radius: 8, color: "#fff", weight: 3, fillColor: "#0b6efd",
                        fillOpacity: 1, interactive: false, className: "pm-here",
                        pane: "pm-position"}).addTo(here);
    P.here = at;
    whereText.innerHTML = whereIs(c.latitude, c.longitude) + " " +
      fill(T.accuracy, {metres: Math.round(c.accuracy)});
    if (firstFix || following) {
      map.setView(at, firstFix ? Math.max(map.getZoom(), 15) : map.getZoom());
      firstFix = false;
    }
  }
  function toggleLocate(a) {
    if (watchId !== null) {  // a second tap stops
      navigator.geolocation.clearWatch(watchId); watchId = null; here.clearLayers();
      a.classList.remove("on"); map.removeControl(wherePanel); wherePanel = null;
      following = false; P.here = null;
      return;
    }
    wherePanel = new Where().addTo(map);
    a.classList.add("on"); firstFix = true;
    if (!navigator.geolocation) {
      whereText.innerHTML = fill(T.no_position, {why: T.no_geolocation}); return;
    }
    whereText.innerHTML = T.locating;
    watchId = navigator.geolocation.watchPosition(showPosition, function (err) {
      whereText.innerHTML = fill(T.no_position, {why: escapeText(err.message)});
    }, {enableHighAccuracy: true, maximumAge: 10000, timeout: 60000});
  }

  // --- measure: distance along the tapped points and area of the polygon they close
  var measurePts = [];
  var measureLayer = L.layerGroup().addTo(map);
  var measureOut = null;
  function clearMeasure() {
    measurePts = []; measureLayer.clearLayers();
    if (measureOut) { measureOut.textContent = ""; }
  }
  function geodesicArea(pts) {  // m², spherical excess (as Leaflet.draw's GeometryUtil)
    var R = L.CRS.Earth.R, d2r = Math.PI / 180, area = 0, n = pts.length;
    for (var i = 0; i < n; i++) {
      var p1 = pts[i], p2 = pts[(i + 1) % n];
      area += (p2.lng - p1.lng) * d2r *
              (2 + Math.sin(p1.lat * d2r) + Math.sin(p2.lat * d2r));
    }
    return Math.abs(area * R * R / 2);
  }
  function showMeasure() {
    measureLayer.clearLayers();
    var dist = 0;
    for (var i = 1; i < measurePts.length; i++) {
      dist += map.distance(measurePts[i - 1], measurePts[i]);
    }
    if (measurePts.length >= 3) {
      L.polygon(measurePts, {color: "#d7191c", weight: 2, fillOpacity: 0.1,
                             interactive: false}).addTo(measureLayer);
    } else {
      L.polyline(measurePts, {color: "#d7191c", weight: 2, interactive: false})
        .addTo(measureLayer);
    }
    measurePts.forEach(function (p) {
      L.circleMarker(p, {radius: 3, color: "#d7191c", interactive: false}).addTo(measureLayer);
    });
    var text = dist >= 1000 ? (dist / 1000).toFixed(2) + " km" : dist.toFixed(0) + " m";
    if (measurePts.length >= 3) {
      text += " \u00B7 " + (geodesicArea(measurePts) / 10000).toFixed(2) + " ha";
    }
    measureOut.textContent = text;
  }
  map.on("click", function (e) {
    if (!measuring) { return; }
    measurePts.push(e.latlng);
    showMeasure();
    showClear();
  });
  map.on("dblclick", function () {
    if (!measuring) { return; }
    measuring = false; map.doubleClickZoom.enable();
    map.getContainer().style.cursor = "";
    var btn = map.getContainer().querySelector(".pm-measure");
    if (btn) { btn.classList.remove("on"); }
  });

  // --- title, warnings, go to community, measurement read-out
  var bounds = {}, plotBounds = {};
  communities.eachLayer(function (layer) {
    bounds[layer.feature.properties.name] = layer.getBounds();
  });
  plots.eachLayer(function (layer) {
    var name = layer.feature.properties.community;
    if (!name) { return; }
    if (!plotBounds[name]) { plotBounds[name] = L.latLngBounds([]); }
    plotBounds[name].extend(layer.getBounds());
  });
  function boxArea(b) { return (b.getNorth() - b.getSouth()) * (b.getEast() - b.getWest()); }
  /* A community's plots when they are small against its outline (a quarter of its
     box or less), so their codes can be read; else the whole community. */
  function communityView(name) {
    var c = bounds[name], p = plotBounds[name];
    if (!c) { return p; }
    if (p && p.isValid() && boxArea(p) <= 0.25 * boxArea(c)) { return p; }
    return c;
  }
  function zoomSelect(parent) {
    var select = L.DomUtil.create("select", "pm-zoom", parent);
    select.setAttribute("aria-label", plainText(T.zoom_to));
    var first = document.createElement("option");
    first.value = ""; first.innerHTML = T.zoom_to; select.appendChild(first);
    var all = document.createElement("option");
    all.value = "*"; all.innerHTML = T.all; select.appendChild(all);
    // communities with an outline, then those the run knows only from its plots
    var names = Object.keys(bounds).concat(Object.keys(plotBounds).filter(function (n) {
      return !bounds[n];
    }));
    names.forEach(function (name) {
      var o = document.createElement("option");
      o.value = name; o.textContent = name; select.appendChild(o);
    });
    select.onchange = function () {
      var every = communities.getLayers().length ? communities.getBounds() : plots.getBounds();
      var b = select.value === "*" ? every : communityView(select.value);
      closePanels();
      if (b) { fitTo(b); userMoved = true; }
    };
    return select;
  }
  var Info = L.Control.extend({
    options: {position: "topleft"},
    onAdd: function () {
      var wrap = L.DomUtil.create("div", "pm-fold");
      var bar = L.DomUtil.create("div", "leaflet-bar pm-fold-btn", wrap);
      var div = L.DomUtil.create("div", "pm-box pm-info pm-foldable", wrap);
      button(bar, ICONS.info, T.info, function () { togglePanel(div); });
      L.DomEvent.disableClickPropagation(wrap);
      div.innerHTML = P.info;  // built and escaped in Python
      zoomSelect(div);
      measureOut = L.DomUtil.create("div", "pm-measure-out", div);
      panels.push(div);
      return wrap;
    }
  });
  new Info().addTo(map);
  /* On a phone the info panel folds into its button, but its warnings (illustrative
     data, results missing) must stay in sight: a compact bar at the top holds them,
     with "go to community" and the measurement (CSS shows it on narrow screens only). */
  var topbar = L.DomUtil.create("div", "pm-box pm-topbar", map.getContainer());
  Array.prototype.forEach.call(
    map.getContainer().querySelectorAll(".pm-info .pm-warn"), function (w) {
      topbar.appendChild(w.cloneNode(true));
    });
  zoomSelect(topbar);
  if (narrow()) {
    topbar.appendChild(measureOut);
    if (banner) { topbar.insertBefore(banner, topbar.firstChild); }  // the plan's end first
  }
  L.DomEvent.disableClickPropagation(topbar);
  L.DomEvent.disableScrollPropagation(topbar);
  panels.push(map.getContainer().querySelector(".pm-legend"));

  var Footer = L.Control.extend({
    options: {position: "bottomleft"},
    onAdd: function () {
      var div = L.DomUtil.create("div", "pm-box pm-footer");
      div.innerHTML = P.footer;  // built and escaped in Python
      return div;
    }
  });
  new Footer().addTo(map);
  // Metric only: the communities measure in metres and hectares.
  L.control.scale({position: "bottomleft", imperial: false, maxWidth: 160}).addTo(map);

  // --- the layer control: folded on a phone, closed after a choice; Leaflet's words
  var ctl = P.control;
  if (ctl) {
    var toggle = ctl._container.querySelector(".leaflet-control-layers-toggle");
    if (toggle) { toggle.title = plainText(T.layers); toggle.setAttribute("aria-label", plainText(T.layers)); }
  }
  function foldLayers() {
    ctl._container.classList.remove("leaflet-control-layers-expanded");
    ctl.options.collapsed = true;
    L.DomEvent.on(ctl._layersLink, "click", function (e) {
      L.DomEvent.preventDefault(e); closePanels(); ctl.expand(); placeLabels();
    });
    map.on("click", function () {
      if (ctl._container.classList.contains("leaflet-control-layers-expanded")) {
        ctl.collapse(); placeLabels();
      }
    });
    if (narrow()) {  // a phone: the list closes after a choice
      map.on("baselayerchange overlayadd overlayremove", function () {
        setTimeout(function () { ctl.collapse(); placeLabels(); }, 0);
      });
    }
  }
  [["leaflet-control-zoom-in", T.zoom_in], ["leaflet-control-zoom-out", T.zoom_out]]
    .forEach(function (z) {
      var a = map.getContainer().querySelector("." + z[0]);
      if (a) { a.title = plainText(z[1]); a.setAttribute("aria-label", plainText(z[1])); }
    });

  // --- online base maps say so when they cannot load
  var toast = null;
  function say(text) {
    if (!toast) {
      toast = L.DomUtil.create("div", "pm-toast", map.getContainer());
      toast.style.cssText = "position:absolute;bottom:40px;left:50%;" +
        "transform:translateX(-50%);z-index:1000;";
    }
    toast.innerHTML = text; toast.style.display = "";
  }
  ["osm", "esri"].forEach(function (key) {
    var layer = G[key];
    if (!layer) { return; }
    var name = "";
    (ctl ? ctl._layers : []).forEach(function (l) { if (l.layer === layer) { name = l.name; } });
    layer.on("tileerror", function () { say(fill(T.needs_internet, {layer: name})); });
  });
  map.on("baselayerchange", function () { if (toast) { toast.style.display = "none"; } });

  /* Room the controls take at the map's edges (px): the buttons' columns left and
     right, the phone's top bar, the scale below; `below` is the bottom of everything
     in the top corners, for a view under the columns rather than between them. */
  function viewPadding() {
    var box = map.getContainer().getBoundingClientRect();
    var pad = {left: 10, right: 10, top: 10, bottom: 10, below: 10}, each = shownBoxes;
    each(".leaflet-left .leaflet-bar", function (r) {
      pad.left = Math.max(pad.left, r.right - box.left + 8);
    });
    each(".leaflet-right .leaflet-bar, .leaflet-right .leaflet-control-layers", function (r) {
      if (r.width < 80) { pad.right = Math.max(pad.right, box.right - r.left + 8); }
    });
    each(".pm-topbar, .pm-banner", function (r) {
      pad.top = Math.max(pad.top, r.bottom - box.top + 8);
    });
    each(".pm-topbar, .pm-banner, .leaflet-top .leaflet-control", function (r) {
      pad.below = Math.max(pad.below, r.bottom - box.top + 8);
    });
    // below: the scale and buttons; on a phone every box (a laptop's legend sits beside)
    each(".leaflet-bottom .leaflet-control", function (r, e) {
      if (narrow() || r.width < 80 || e.classList.contains("leaflet-control-scale")) {
        pad.bottom = Math.max(pad.bottom, box.bottom - r.top + 8);
      }
    });
    return pad;
  }
  var home = communities.getLayers().length ? communities.getBounds()
    : plots.getBounds();
  var fitting = false, userMoved = false;
  /* Fit `bounds` clear of the controls: between the side columns of buttons, or
     under them, whichever shows it larger. */
  function fitTo(bounds) {
    if (!bounds || !bounds.isValid()) { return; }
    var pad = viewPadding(), between = [L.point(pad.left, pad.top), L.point(pad.right, pad.bottom)];
    var under = [L.point(10, pad.below), L.point(10, pad.bottom)];
    function zoomOf(p) { return map.getBoundsZoom(bounds, false, p[0].add(p[1])); }
    var best = zoomOf(under) > zoomOf(between) ? under : between;
    fitting = true;
    map.fitBounds(bounds, {paddingTopLeft: best[0], paddingBottomRight: best[1], animate: false});
    fitting = false;
  }
  function fitAll() { fitTo(home); }
  map.on("movestart zoomstart", function () { if (!fitting) { userMoved = true; } });
  map.on("resize", function () { if (!userMoved) { fitAll(); placeLabels(); } });
  function coversCommunity(el) {
    var box = map.getContainer().getBoundingClientRect(), r = el.getBoundingClientRect();
    var hit = false;
    communities.eachLayer(function (layer) {
      var b = layer.getBounds();
      var nw = map.latLngToContainerPoint(b.getNorthWest());
      var se = map.latLngToContainerPoint(b.getSouthEast());
      if (nw.x < r.right - box.left && r.left - box.left < se.x &&
          nw.y < r.bottom - box.top && r.top - box.top < se.y) { hit = true; }
    });
    return hit;
  }
  fitAll();
  // the layer list starts open only where it covers no community
  if (ctl && (narrow() || coversCommunity(ctl._container))) { foldLayers(); fitAll(); }
  placeLabels();
  window.pasturesMap = {map: map, plots: plots, communities: communities, groups: G,
                        rotation: rotation, rotationOf: rotationOf, day: isoDay(day),
                        communityView: communityView, placeLabels: placeLabels,
                        viewPadding: viewPadding, fitTo: fitTo};
})();
