// Small helpers shared by the page's modules: building elements, formatting numbers, calling the API.
// Text always goes in through textContent, never innerHTML: episodes hold model output.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function num(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (typeof value !== "number") return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(2);
  return value.toFixed(digits);
}

// Numbers of any size in a few characters: integers as they are, others to 4 significant digits.
export function compact(value) {
  if (typeof value !== "number" || Number.isNaN(value)) return "–";
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 1e-3 && abs < 1e6 ? String(Number(value.toPrecision(4))) : value.toExponential(2);
}

export function signed(value, digits = 3) {
  const text = num(value, digits);
  return typeof value === "number" && value > 0 ? "+" + text : text;
}

export function seconds(value) {
  if (typeof value !== "number") return "–";
  return value < 1 ? `${(value * 1000).toFixed(0)} ms` : `${value.toFixed(2)} s`;
}

export async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== "" && value !== null && value !== undefined) query.set(key, value);
  }
  const url = "api/" + path + (query.toString() ? "?" + query : "");
  const response = await fetch(url);
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new Error(detail);
  }
  return response.json();
}

export function chip(label, value, cls = "") {
  const kind = typeof value === "number" ? (value > 0 ? "pos" : value < 0 ? "neg" : "zero") : "";
  return h("span", { class: `chip ${kind} ${cls}`.trim() }, h("b", {}, label), " ", typeof value === "number" ? signed(value) : value);
}

export function components(dict) {
  const entries = Object.entries(dict || {});
  if (!entries.length) return h("span", { class: "muted" }, "no components");
  return h("span", { class: "chips" }, entries.map(([k, v]) => chip(k, v)));
}

export function badge(ok, yes = "success", no = "failure") {
  return h("span", { class: `badge ${ok ? "ok" : "bad"}` }, ok ? yes : no);
}

export function errorBox(message) {
  return h("div", { class: "error-box", role: "alert" }, message);
}
