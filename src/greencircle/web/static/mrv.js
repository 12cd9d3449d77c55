/* MRV charts (Apache ECharts): monthly emissions by source (stacked bars) and monthly
 * emission intensity per facility (lines). Data and labels come from #mrv-chart-data. */
(function () {
  "use strict";
  var holder = document.getElementById("mrv-chart-data");
  if (!holder || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(holder.textContent || "{}");
  var L = data.labels || {};
  var colors = { fuel: "#8e5a2b", electricity: "#2e86c1", heat: "#c0392b" };
  var el = document.getElementById("chart-mrv-monthly");
  if (el) {
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.periods },
      yAxis: { type: "value", name: L.tco2 },
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
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.periods },
      yAxis: { type: "value", name: names.length ? data.intensity_units[names[0]] : "" },
      series: names.map(function (n) {
        return { name: n, type: "line", data: data.intensity[n], connectNulls: false };
      })
    });
    window.addEventListener("resize", function () { chart2.resize(); });
  }
}());
