/* The desk's charts (vendored ECharts; data from <script type="application/json"> blocks,
 * never inline code: the CSP allows scripts from files only) and the print button.
 * Tooltips render in the canvas (renderMode "richText"): ECharts' HTML tooltips carry
 * inline styles, which the CSP refuses. Every chart has its data in a table beside it. */
(function () {
  "use strict";

  var COLOURS = { due: "#5b6472", paid: "#1a7f37", red: "#b4261c", yellow: "#9a6700", blue: "#0b57d0" };

  function yuan(fen) {
    return fen === null || fen === undefined ? "—" : "¥" + (fen / 100).toLocaleString("zh-CN");
  }

  function wages(data) {
    return {
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText", valueFormatter: yuan },
      legend: { top: 0, data: [data.labels.due, data.labels.paid] },
      grid: { left: 70, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return "¥" + (v / 100).toLocaleString("zh-CN"); } } },
      series: [
        { name: data.labels.due, type: "bar", data: data.due, itemStyle: { color: COLOURS.due } },
        { name: data.labels.paid, type: "bar", data: data.paid, itemStyle: { color: COLOURS.paid } },
      ],
    };
  }

  function trend(data) {
    return {
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, data: data.series.map(function (s) { return s.name; }) },
      grid: { left: 40, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: data.months },
      yAxis: { type: "value", minInterval: 1 },
      series: data.series.map(function (s) {
        return { name: s.name, type: "line", data: s.data, itemStyle: { color: COLOURS[s.key] }, lineStyle: { color: COLOURS[s.key] } };
      }),
    };
  }

  document.querySelectorAll("[data-chart]").forEach(function (element) {
    var source = document.getElementById(element.dataset.chart);
    if (!source || !window.echarts) return;
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(element.dataset.kind === "trend" ? trend(data) : wages(data));
    element.setAttribute("aria-label", element.getAttribute("aria-label"));
    window.addEventListener("resize", function () { chart.resize(); });
  });

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
