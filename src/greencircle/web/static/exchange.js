/* Exchange page: daily candlesticks (open, last, low, high) with the VWAP close and the
 * volume (Apache ECharts), data and labels from #exchange-chart-data; the price field of
 * the order form is disabled for market orders (they take no price). */
(function () {
  "use strict";
  var kind = document.getElementById("o-kind");
  var price = document.getElementById("o-price");
  if (kind && price) {
    var sync = function () { price.disabled = kind.value === "market"; };
    kind.addEventListener("change", sync);
    sync();
  }
  var holder = document.getElementById("exchange-chart-data");
  var el = document.getElementById("chart-exchange-ohlc");
  if (!holder || !el || typeof window.echarts === "undefined") { return; }
  var data = JSON.parse(holder.textContent || "{}");
  var L = data.labels || {};
  var chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis", axisPointer: { type: "cross" } },
    legend: { top: 0, data: [L.price, L.vwap, L.volume] },
    grid: [
      { left: 60, right: 20, top: 40, height: "55%" },
      { left: 60, right: 20, top: "75%", height: "15%" }
    ],
    xAxis: [
      { type: "category", data: data.dates, boundaryGap: true },
      { type: "category", data: data.dates, gridIndex: 1, boundaryGap: true,
        axisLabel: { show: false } }
    ],
    yAxis: [
      { type: "value", scale: true, name: L.unit },
      { type: "value", gridIndex: 1, name: L.qty, splitNumber: 2 }
    ],
    series: [
      { name: L.price, type: "candlestick", data: data.candles,
        itemStyle: { color: "#c0392b", color0: "#1e8449",
                     borderColor: "#c0392b", borderColor0: "#1e8449" } },
      { name: L.vwap, type: "line", data: data.vwap, symbol: "circle", symbolSize: 5,
        lineStyle: { width: 1.5 }, itemStyle: { color: "#2e86c1" } },
      { name: L.volume, type: "bar", data: data.volume, xAxisIndex: 1, yAxisIndex: 1,
        itemStyle: { color: "#7f8c8d" } }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
}());
