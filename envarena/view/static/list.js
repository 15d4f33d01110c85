// The start page: a training run's curves (when a run was given) above the filterable episode table.
// Filters live in the URL (#/?env=...&q=...) so the back button and a copied link restore them.

import { api, badge, errorBox, h, num, seconds, signed } from "./dom.js";
import { COLORS, lineChart } from "./charts.js";

const PAGE = 50;
const FILTERS = ["src", "env", "agent", "outcome", "error", "q", "offset", "sort", "desc"];
const DEFAULT_METRICS = ["reward_mean", "outcome_mean", "success_rate", "entropy", "kl", "loss", "response_length",
  "grad_norm", "clip_fraction", "zero_signal_groups", "tokens_per_s", "time_train_s"];
const PAIRED = { outcome_mean: ["eval_outcome"], success_rate: ["eval_success"], reward_mean: ["eval_reward"] };
const SORTABLE = { seed: "seed", turns: "turns", reward: "total_reward", outcome: "outcome", duration: "duration_s" };

const KIND_ORDER = { step: 0, eval: 1, file: 2 };

// Training order (steps, then evaluations, then other files), whatever order the server found them in.
function ordered(sources) {
  return [...sources].sort((a, b) => (KIND_ORDER[a.kind] - KIND_ORDER[b.kind]) || ((a.step ?? 0) - (b.step ?? 0)) || (a.id - b.id));
}

export function defaultSource(info) {
  if (!info.run) return "all";
  const steps = ordered(info.sources).filter((s) => s.kind === "step");
  const last = steps.length ? steps[steps.length - 1] : info.sources[info.sources.length - 1];
  return last ? String(last.id) : "all";
}

export function scopeOf(info, src) {
  return src === "all" || src === "" ? "" : src;
}

export function renderList(main, info, params) {
  const state = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || ""]));
  if (!state.src) state.src = defaultSource(info);
  const tableBox = h("div", { class: "table-box" });
  const runBox = info.run ? h("section", { class: "run" }) : null;
  const controls = {};
  main.replaceChildren();

  const save = () => {
    const query = new URLSearchParams();
    for (const k of FILTERS) if (state[k]) query.set(k, state[k]);
    history.replaceState(null, "", "#/?" + query);
  };
  const refresh = async () => {
    save();
    await loadTable(tableBox, info, state, controls, refresh);
    if (runBox) drawCharts(runBox, info, state, pickStep);
  };
  const set = (key, value) => { state[key] = value; if (key !== "offset") state.offset = ""; refresh(); };
  const pickStep = (step) => {
    const source = info.sources.find((s) => s.kind === "step" && s.step === step);
    if (source) { controls.src.value = String(source.id); set("src", String(source.id)); }
  };

  controls.src = h("select", { id: "f-src", onchange: (e) => set("src", e.target.value) },
    h("option", { value: "all" }, info.run ? "all rollout files" : `all files (${info.sources.length})`),
    ordered(info.sources).map((s) => h("option", { value: String(s.id) }, s.label)));
  controls.src.value = state.src;
  controls.env = h("select", { id: "f-env", onchange: (e) => set("env", e.target.value) });
  controls.agent = h("select", { id: "f-agent", onchange: (e) => set("agent", e.target.value) });
  controls.outcome = h("select", { id: "f-outcome", onchange: (e) => set("outcome", e.target.value) },
    h("option", { value: "" }, "any outcome"), h("option", { value: "success" }, "successes"),
    h("option", { value: "failure" }, "failures"));
  controls.outcome.value = state.outcome;
  controls.error = h("select", { id: "f-error", onchange: (e) => set("error", e.target.value) },
    h("option", { value: "" }, "errors or not"), h("option", { value: "yes" }, "with an error"),
    h("option", { value: "no" }, "without error"));
  controls.error.value = state.error;
  let timer = null;
  controls.q = h("input", { id: "f-q", type: "search", placeholder: "search text…", value: state.q,
    oninput: (e) => { clearTimeout(timer); timer = setTimeout(() => set("q", e.target.value), 250); } });
  controls.count = h("span", { id: "count", class: "muted" });

  const filters = h("div", { class: "filters" },
    h("label", {}, info.run ? "Rollouts " : "File ", controls.src),
    h("label", {}, "Environment ", controls.env), h("label", {}, "Agent ", controls.agent),
    controls.outcome, controls.error, controls.q, controls.count);
  main.append(...[runBox, h("section", { class: "episodes" }, filters, tableBox)].filter(Boolean));
  if (runBox) loadRun(runBox, info).then(() => drawCharts(runBox, info, state, pickStep));
  refresh();
}

function fillSelect(select, entries, current, anyLabel) {
  select.replaceChildren(h("option", { value: "" }, anyLabel),
    ...entries.map(([name, count]) => h("option", { value: name }, `${name} (${count})`)));
  if (current && !entries.some(([name]) => name === current)) select.append(h("option", { value: current }, current));
  select.value = current;
}

async function loadTable(box, info, state, controls, refresh) {
  let page;
  try {
    page = await api("episodes", { sources: scopeOf(info, state.src), env: state.env, agent: state.agent,
      outcome: state.outcome, error: state.error, q: state.q, offset: state.offset || 0, limit: PAGE,
      sort: state.sort, desc: state.desc });
  } catch (err) {
    box.replaceChildren(errorBox(err.message));
    return;
  }
  fillSelect(controls.env, page.envs, state.env, "all environments");
  fillSelect(controls.agent, page.agents, state.agent, "all agents");
  const offset = page.offset;
  controls.count.textContent = page.total
    ? `${offset + 1}–${offset + page.rows.length} of ${page.total} episodes`
    : "no episodes match";
  const multi = state.src === "all" && info.sources.length > 1;
  const sortHead = (label, key) => {
    const field = SORTABLE[key];
    const active = state.sort === field;
    return h("th", { class: "sortable" + (active ? " active" : ""), title: "sort",
      onclick: () => { state.desc = active && !state.desc ? "1" : ""; state.sort = field; state.offset = ""; refresh(); } },
      label, active ? (state.desc ? " ▾" : " ▴") : "");
  };
  const head = h("tr", {}, h("th", {}, "#"), multi ? h("th", {}, "file") : null, h("th", {}, "environment"),
    sortHead("seed", "seed"), h("th", {}, "sample"), h("th", {}, "agent"), sortHead("turns", "turns"),
    sortHead("reward", "reward"), sortHead("outcome", "outcome"), h("th", {}, "result"), h("th", {}, "error"),
    sortHead("time", "duration"));
  const label = (id) => (info.sources[id] || {}).label || id;
  const rows = page.rows.map((r) => h("tr", { class: "row", dataset: { key: r.key },
      onclick: () => { location.hash = `#/episode/${encodeURIComponent(r.key)}?scope=${scopeOf(info, state.src)}`; } },
    h("td", { class: "muted" }, r.line), multi ? h("td", { class: "muted" }, label(r.source)) : null,
    h("td", {}, h("a", { href: `#/episode/${encodeURIComponent(r.key)}?scope=${scopeOf(info, state.src)}` }, r.env_id),
      Object.keys(r.env_kwargs).length ? h("span", { class: "muted small" }, " " + kwargsText(r.env_kwargs)) : null),
    h("td", {}, r.seed), h("td", {}, r.sample), h("td", {}, r.agent, r.opponent ? h("span", { class: "muted" }, ` vs ${r.opponent}`) : null),
    h("td", {}, r.turns, r.traced ? h("span", { class: "tag", title: "token trace recorded" }, "tokens") : null),
    h("td", { class: "numcell" }, signed(r.total_reward)), h("td", { class: "numcell" }, num(r.outcome, 2)),
    h("td", {}, r.error ? h("span", { class: "badge bad" }, "error") : badge(r.success)),
    h("td", { class: "errcell", title: r.error || "" }, r.error || ""), h("td", { class: "numcell muted" }, seconds(r.duration_s))));
  const table = h("table", { class: "episodes-table", id: "episodes" }, h("thead", {}, head), h("tbody", {}, rows));
  const pager = h("div", { class: "pager" },
    h("button", { disabled: offset === 0, onclick: () => { state.offset = String(Math.max(0, offset - PAGE)); refresh(); } }, "← previous"),
    h("button", { disabled: offset + PAGE >= page.total, onclick: () => { state.offset = String(offset + PAGE); refresh(); } }, "next →"));
  const notes = page.unreadable ? h("p", { class: "muted" }, `${page.unreadable} line(s) are not episode records and are left out.`) : null;
  box.replaceChildren(...[table, page.total > PAGE ? pager : null, notes].filter(Boolean));
  if (!page.total) box.append(h("p", { class: "empty" }, "No episode matches these filters."));
}

export function kwargsText(kwargs) {
  return Object.entries(kwargs).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
}

let metricRows = null;  // metrics.jsonl rows, once loaded

async function loadRun(box, info) {
  const config = info.run.config || {};
  const facts = [["model", config.model], ["environment", config.env_id], ["steps", config.steps],
    ["tasks × group", config.tasks_per_step && `${config.tasks_per_step} × ${config.group_size}`],
    ["advantage", config.advantage], ["generator", config.generator], ["lr", config.lr]].filter(([, v]) => v !== undefined && v !== null);
  box.replaceChildren(h("h2", {}, "Training run ", h("code", {}, info.run.path)),
    h("p", { class: "facts" }, facts.map(([k, v]) => h("span", {}, h("b", {}, k), " ", String(v)))),
    h("div", { class: "charts", id: "charts" }, h("p", { class: "muted" }, "loading metrics…")), h("div", { class: "warnings" }));
  metricRows = null;
  try {
    metricRows = (await api("metrics")).rows;
  } catch (err) {
    box.querySelector("#charts").replaceChildren(errorBox(err.message));
  }
}

function chosenMetrics(keys) {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem("envarena.metrics") || "null"); } catch (_) { /* none saved */ }
  const base = Array.isArray(saved) ? saved : DEFAULT_METRICS;
  return base.filter((k) => keys.includes(k));
}

function drawCharts(box, info, state, pickStep) {
  const area = box.querySelector("#charts");
  if (!area || metricRows === null) return;
  if (!metricRows.length) {
    area.replaceChildren(h("p", { class: "muted" }, "metrics.jsonl has no steps yet."));
    return;
  }
  const keys = [...new Set(metricRows.flatMap((r) => Object.keys(r)))]
    .filter((k) => k !== "step" && metricRows.some((r) => typeof r[k] === "number")).sort();
  const shown = chosenMetrics(keys);
  const current = info.sources.find((s) => String(s.id) === state.src);
  const selected = current && current.step !== null ? current.step : null;
  const series = (key) => metricRows.filter((r) => typeof r[key] === "number").map((r) => [r.step, r[key]]);
  const charts = shown.filter((k) => !Object.values(PAIRED).flat().includes(k) || !shown.some((p) => (PAIRED[p] || []).includes(k)))
    .map((key) => {
      const lines = [{ name: key, points: series(key) }];
      if (key === "reward_mean" && keys.includes("reward_std")) {
        lines[0].band = metricRows.filter((r) => typeof r.reward_mean === "number" && typeof r.reward_std === "number")
          .map((r) => [r.step, r.reward_mean - r.reward_std, r.reward_mean + r.reward_std]);
      }
      for (const extra of PAIRED[key] || []) if (keys.includes(extra)) lines.push({ name: extra, points: series(extra), color: COLORS[1] });
      return lineChart({ title: lines.map((l) => l.name).join(" & ") + (lines[0].band ? " (± std)" : ""), series: lines, selected, onPick: pickStep });
    });
  const picker = h("details", { class: "metric-picker" }, h("summary", {}, `metrics (${shown.length} of ${keys.length} shown)`),
    h("div", { class: "checks" }, keys.map((k) => h("label", {}, h("input", { type: "checkbox", checked: shown.includes(k),
      onchange: (e) => {
        const next = e.target.checked ? [...chosenMetrics(keys), k] : chosenMetrics(keys).filter((x) => x !== k);
        localStorage.setItem("envarena.metrics", JSON.stringify(next));
        drawCharts(box, info, state, pickStep);
      } }), " ", k))));
  const hint = h("p", { class: "muted small" }, "Click a chart to open that step's rollouts.");
  area.replaceChildren(...charts, h("div", { class: "chart-side" }, picker, hint));
  const warnings = metricRows.flatMap((r) => (r.warnings || []).map((w) => `step ${r.step}: ${w}`));
  const warnBox = box.querySelector(".warnings");
  if (warnBox) warnBox.replaceChildren(...(warnings.length ? [h("details", {}, h("summary", {}, `${warnings.length} training warning(s)`),
    h("ul", {}, warnings.map((w) => h("li", {}, w))))] : []));
}
