/* MRV charts (Apache ECharts): monthly emissions by source (stacked bars) and monthly
 * emission intensity per facility (lines). Data and labels come from #mrv-chart-data. */
(function () {
  "use strict";
  var holder = document.getElementById("mrv-chart-data");
  if (!holder || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(holder.textContent || "{}");
  var L = data.labels || {};
  var colors = { fuel: "#8e5a2b", electricity: "#2e86c1", heat: "#c0392b" };
  // Axis and tooltip numbers as the reader writes them (grouping by the page's locale);
  // containLabel keeps long labels such as "1,500,000" inside the chart instead of clipped.
  var nf = new Intl.NumberFormat(data.lang || document.documentElement.lang || "en",
                                 { maximumFractionDigits: 3 });
  var fmt = function (v) { return v === null || v === undefined ? "–" : nf.format(v); };
  var el = document.getElementById("chart-mrv-monthly");
  if (el) {
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis", valueFormatter: fmt },
      legend: { top: 0 },
      grid: { left: 16, right: 20, top: 48, bottom: 30, containLabel: true },
      xAxis: { type: "category", data: data.periods },
      yAxis: { type: "value", name: L.tco2, axisLabel: { formatter: fmt } },
      series: ["fuel", "electricity", "heat"].map(function (c) {
        return { name: L[c], type: "bar", stack: "e", data: data.series[c],
                 itemStyle: { color: colors[c] } };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  var el2 = document.getElementById("chart-mrv-intensity");
  if (el2 && data.intensity) {
    var chart2 = window.echarts.init(el2, null, { renderer: "canvas" });
    var names = Object.keys(data.intensity);
    chart2.setOption({
      tooltip: { trigger: "axis", valueFormatter: fmt },
      legend: { top: 0 },
      grid: { left: 16, right: 20, top: 48, bottom: 30, containLabel: true },
      xAxis: { type: "category", data: data.periods },
      yAxis: { type: "value", name: names.length ? data.intensity_units[names[0]] : "",
               axisLabel: { formatter: fmt } },
      series: names.map(function (n) {
        return { name: n, type: "line", data: data.intensity[n], connectNulls: false };
      })
    });
    window.addEventListener("resize", function () { chart2.resize(); });
  }
}());
