// Line charts of training metrics, drawn as inline SVG (no charting library, nothing fetched).

import { compact, h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 300, H = 135, PAD = { left: 44, right: 10, top: 8, bottom: 22 };
export const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const child of children) if (child) el.append(child);
  return el;
}

// A tick label with just enough digits to tell the ticks of this range apart.
function tick(value, range) {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-4)) return value.toExponential(2);
  const digits = Math.max(0, Math.min(8, Math.ceil(-Math.log10(range / 2)) + 1));
  return Number(value.toFixed(digits)).toString();
}

function extent(values) {
  let lo = Math.min(...values), hi = Math.max(...values);
  if (!Number.isFinite(lo)) return [0, 1];
  if (lo === hi) { lo -= Math.abs(lo) * 0.1 || 0.5; hi += Math.abs(hi) * 0.1 || 0.5; }
  return [lo, hi];
}

// series: [{name, points: [[x, y], ...], band?: [[x, lo, hi], ...]}]; onPick(x) is called with the nearest x clicked.
export function lineChart({ title, series, selected = null, onPick = null }) {
  const xs = series.flatMap((sr) => sr.points.map((p) => p[0]));
  const ys = series.flatMap((sr) => [...sr.points.map((p) => p[1]), ...(sr.band || []).flatMap((b) => [b[1], b[2]])]);
  const [x0, x1] = xs.length > 1 ? extent(xs) : [(xs[0] ?? 0) - 1, (xs[0] ?? 0) + 1];
  const [y0, y1] = extent(ys);
  const X = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const Y = (y) => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": title });
  for (const frac of [0, 0.5, 1]) {
    const y = y0 + frac * (y1 - y0);
    svg.append(s("line", { x1: PAD.left, x2: W - PAD.right, y1: Y(y), y2: Y(y), class: "grid" }));
    const label = s("text", { x: PAD.left - 4, y: Y(y) + 3, class: "tick", "text-anchor": "end" });
    label.textContent = tick(y, y1 - y0);
    svg.append(label);
  }
  const xTicks = [[x0, "start"], [(x0 + x1) / 2, "middle"], [x1, "end"]].filter(([x]) => Number.isInteger(x) || x1 - x0 > 4);
  for (const [x, anchor] of xTicks) {
    const label = s("text", { x: X(x), y: H - 6, class: "tick", "text-anchor": anchor });
    label.textContent = String(Math.round(x));
    svg.append(label);
  }
  if (selected !== null && selected >= x0 && selected <= x1) {
    svg.append(s("line", { x1: X(selected), x2: X(selected), y1: PAD.top, y2: H - PAD.bottom, class: "cursor" }));
  }
  series.forEach((sr, i) => {
    const color = sr.color || COLORS[i % COLORS.length];
    if (sr.band && sr.band.length > 1) {
      const upper = sr.band.map((b) => `${X(b[0])},${Y(b[2])}`);
      const lower = sr.band.slice().reverse().map((b) => `${X(b[0])},${Y(b[1])}`);
      svg.append(s("polygon", { points: [...upper, ...lower].join(" "), fill: color, opacity: 0.12 }));
    }
    if (sr.points.length > 1) {
      svg.append(s("polyline", { points: sr.points.map((p) => `${X(p[0])},${Y(p[1])}`).join(" "), fill: "none",
                                 stroke: color, "stroke-width": 1.6 }));
    }
    if (sr.points.length <= 40) {
      for (const p of sr.points) {
        const dot = s("circle", { cx: X(p[0]), cy: Y(p[1]), r: 2.4, fill: color });
        const tip = s("title");
        tip.textContent = `${sr.name} at step ${p[0]}: ${compact(p[1])}`;
        dot.append(tip);
        svg.append(dot);
      }
    }
  });
  const hover = s("text", { x: W - PAD.right, y: PAD.top + 8, class: "hover", "text-anchor": "end" });
  svg.append(hover);
  const toX = (event) => {
    const box = svg.getBoundingClientRect();
    const px = ((event.clientX - box.left) / box.width) * W;
    return x0 + ((px - PAD.left) / (W - PAD.left - PAD.right)) * (x1 - x0);
  };
  const nearest = (x) => xs.reduce((best, v) => (Math.abs(v - x) < Math.abs(best - x) ? v : best), xs[0]);
  svg.addEventListener("mousemove", (event) => {
    if (!xs.length) return;
    const x = nearest(toX(event));
    hover.textContent = `step ${x}: ` + series.map((sr) => {
      const p = sr.points.find((q) => q[0] === x);
      return p ? compact(p[1]) : null;
    }).filter((v) => v !== null).join(" / ");
  });
  svg.addEventListener("mouseleave", () => { hover.textContent = ""; });
  if (onPick) {
    svg.classList.add("pickable");
    svg.addEventListener("click", (event) => xs.length && onPick(nearest(toX(event))));
  }
  const legend = series.length > 1
    ? h("div", { class: "legend" }, series.map((sr, i) =>
        h("span", {}, h("i", { style: `background:${sr.color || COLORS[i % COLORS.length]}` }), sr.name)))
    : null;
  return h("figure", { class: "chart" }, h("figcaption", {}, title), svg, legend);
}
