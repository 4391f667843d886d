// Metric charts with Plotly (served from the plotly wheel): several series overlaid, the x axis
// as step, time or relative time, exponential smoothing. The numbers are in the page's tables;
// this only draws them. Data: <script type="application/json" id="ID-data">
//   {"series": [{"name": ..., "points": [[step, time_ms, value], ...]}], "selected": [names]}
"use strict";

function smooth(values, weight) {
  // TensorBoard-style exponential moving average, debiased so the start is not pulled to 0.
  if (!weight) return values;
  const out = [];
  let last = 0;
  let n = 0;
  for (const v of values) {
    if (v === null) { out.push(null); continue; }
    n += 1;
    last = last * weight + (1 - weight) * v;
    out.push(last / (1 - Math.pow(weight, n)));
  }
  return out;
}

function xValues(points, axis) {
  if (axis === "time") return points.map((p) => new Date(p[1]));
  if (axis === "relative") {
    const start = points.length ? points[0][1] : 0;
    return points.map((p) => (p[1] - start) / 1000);
  }
  return points.map((p) => p[0]);
}

function drawChart(container) {
  const target = document.getElementById(container.dataset.chart);
  const data = JSON.parse(document.getElementById(`${target.id}-data`).textContent);
  const axis = container.querySelector(".x-axis");
  const smoothing = container.querySelector(".smoothing");
  const output = container.querySelector("output");
  const toggles = [...container.querySelectorAll(".series-toggle")];

  function render() {
    const weight = Number(smoothing.value);
    output.value = weight.toFixed(2);
    const shown = toggles.length
      ? new Set(toggles.filter((t) => t.checked).map((t) => t.value))
      : null;
    const traces = [];
    for (const s of data.series) {
      if (shown && !shown.has(s.name)) continue;
      const x = xValues(s.points, axis.value);
      const y = s.points.map((p) => p[2]);
      if (weight > 0) {
        traces.push({ x, y, name: `${s.name} (raw)`, mode: "lines", opacity: 0.25,
          showlegend: false, hoverinfo: "skip", line: { width: 1 } });
      }
      traces.push({ x, y: smooth(y, weight), name: s.name, mode: "lines+markers",
        marker: { size: s.points.length > 60 ? 0 : 5 } });
    }
    const title = { step: "step", time: "time", relative: "seconds since the first point" };
    const layout = {
      margin: { l: 60, r: 20, t: 20, b: 50 },
      xaxis: { title: { text: title[axis.value] } },
      yaxis: { title: { text: data.ylabel || "value" } },
      legend: { orientation: "h" },
      font: { family: "system-ui, sans-serif" },
    };
    window.Plotly.react(target, traces, layout, { responsive: true, displaylogo: false });
  }
  for (const el of [axis, smoothing, ...toggles]) el.addEventListener("input", render);
  render();
}

document.addEventListener("DOMContentLoaded", () => {
  if (!window.Plotly) return;
  for (const container of document.querySelectorAll(".chart-controls[data-chart]")) {
    drawChart(container);
  }
});
