/* Energy study charts (Apache ECharts): dispatch stack, battery state of charge and
 * monthly energy. Data and labels (already in the page's language) come from the JSON
 * script tag #energy-chart-data; no inline handlers, nothing fetched. */
(function () {
  "use strict";

  var holder = document.getElementById("energy-chart-data");
  if (!holder || typeof window.echarts === "undefined") {
    return;
  }
  var data = JSON.parse(holder.textContent || "{}");
  var L = data.labels || {};
  var S = data.series || {};
  var n = (S.load_kw || []).length;
  // Numbers as people read them in the page's language (grouping, one decimal at most).
  var NUM = new Intl.NumberFormat(document.documentElement.lang || "en", {
    maximumFractionDigits: 1
  });
  var COLORS = {
    pv: "#f2b705", pv_curtailed: "#f7dc7a", import: "#6c7a89", discharge: "#1b7f4b",
    genset: "#8e5a2b", unserved: "#c0392b", charge: "#58b77f", export: "#2e86c1",
    load: "#1d2521", soc: "#1b7f4b", capacity: "#999999"
  };

  function pad(v) { return (v < 10 ? "0" : "") + v; }

  /* Step labels in the site's local time: the SPEC's start is a local wall-clock time,
   * so arithmetic is done in UTC to stay independent of the browser's time zone. */
  function stepLabels() {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(data.start || "");
    var t0 = m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]) : 0;
    var step = (data.step_hours || 1) * 3600 * 1000;
    var out = new Array(n);
    for (var i = 0; i < n; i++) {
      var d = new Date(t0 + i * step);
      out[i] = pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
        pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes());
    }
    return out;
  }

  function negate(values) {
    var out = new Array(values.length);
    for (var i = 0; i < values.length; i++) { out[i] = values[i] === 0 ? 0 : -values[i]; }
    return out;
  }

  function zoomEnd() {
    /* open on the first week; the slider shows the whole horizon */
    var week = 168 / (data.step_hours || 1);
    return n > week ? Math.max(1, Math.round(100 * week / n)) : 100;
  }

  function area(name, key, values, stack) {
    return {
      name: name, type: "line", stack: stack, data: values, areaStyle: {},
      showSymbol: false, sampling: "lttb", lineStyle: { width: 0 },
      itemStyle: { color: COLORS[key] }, emphasis: { focus: "series" }
    };
  }

  function has(key) {
    var v = S[key];
    if (!v) { return false; }
    for (var i = 0; i < v.length; i++) { if (v[i] !== 0) { return true; } }
    return false;
  }

  var charts = [];
  function make(id) {
    var el = document.getElementById(id);
    if (!el) { return null; }
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    charts.push(chart);
    return chart;
  }

  var x = stepLabels();
  var zoom = [
    { type: "inside", start: 0, end: zoomEnd() },
    { type: "slider", start: 0, end: zoomEnd(), height: 18, bottom: 6 }
  ];

  var dispatch = make("chart-dispatch");
  if (dispatch) {
    var series = [];
    var supply = [["pv", "pv_used_kw"], ["discharge", "discharge_kw"], ["import", "import_kw"],
      ["genset", "genset_kw"], ["unserved", "unserved_kw"]];
    supply.forEach(function (s) {
      if (has(s[1]) || s[0] === "import") { series.push(area(L[s[0]], s[0], S[s[1]], "supply")); }
    });
    [["charge", "charge_kw"], ["export", "export_kw"]].forEach(function (s) {
      if (has(s[1])) { series.push(area(L[s[0]], s[0], negate(S[s[1]]), "sink")); }
    });
    series.push({
      name: L.load, type: "line", data: S.load_kw, showSymbol: false, sampling: "lttb",
      lineStyle: { width: 1.5, color: COLORS.load }, itemStyle: { color: COLORS.load }
    });
    dispatch.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "" : NUM.format(v) + " kW"; } },
      legend: { top: 0, type: "scroll" },
      grid: { left: 64, right: 24, top: 36, bottom: 56 },
      xAxis: { type: "category", data: x, name: L.time, nameLocation: "middle", nameGap: 28, boundaryGap: false },
      yAxis: { type: "value", name: L.power_kw },
      dataZoom: zoom,
      series: series
    });
  }

  var soc = make("chart-soc");
  if (soc) {
    var socSeries = {
      name: L.soc_kwh, type: "line", data: S.soc_kwh || [], showSymbol: false, sampling: "lttb",
      areaStyle: { opacity: 0.15 }, lineStyle: { width: 1.5 }, itemStyle: { color: COLORS.soc }
    };
    if (data.soc_max_kwh) {
      socSeries.markLine = {
        symbol: "none", silent: true, lineStyle: { type: "dashed", color: COLORS.capacity },
        label: { formatter: L.capacity, position: "insideEndTop" }, data: [{ yAxis: data.soc_max_kwh }]
      };
    }
    soc.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "" : NUM.format(v) + " kWh"; } },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 36, bottom: 56 },
      xAxis: { type: "category", data: x, name: L.time, nameLocation: "middle", nameGap: 28, boundaryGap: false },
      yAxis: { type: "value", name: L.energy_kwh, min: 0 },
      dataZoom: zoom.map(function (z) { return Object.assign({}, z); }),
      series: [socSeries]
    });
  }

  var monthly = make("chart-monthly");
  if (monthly) {
    var M = data.monthly || { months: [] };
    var bar = function (key) {
      return { name: L[key], type: "bar", data: M[key] || [], itemStyle: { color: COLORS[key] } };
    };
    monthly.setOption({
      animation: false,
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "" : NUM.format(v) + " MWh"; } },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 36, bottom: 40 },
      xAxis: { type: "category", data: M.months, name: L.month, nameLocation: "middle", nameGap: 26 },
      yAxis: { type: "value", name: L.energy_mwh },
      series: [bar("load"), bar("pv"), bar("import"), bar("export")]
    });
  }

  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
}());
