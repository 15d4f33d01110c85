// One episode as a conversation (tool calls, tool results, per-turn rewards, the verdict), its token
// trace coloured by log-prob or loss mask, and two episodes of one task side by side.

import { api, badge, components, errorBox, h, num, seconds, signed } from "./dom.js";
import { kwargsText } from "./list.js";

const ROLE_LABEL = { system: "system", user: "user", assistant: "assistant", tool: "tool result" };

// Boards and tables (lines indented or spaced into columns) keep their shape in a fixed-width font.
function textBody(text) {
  const laidOut = text.includes("\n") && /^ {2,}\S|\S {2,}\S/m.test(text);
  return h("div", { class: laidOut ? "msg-body mono" : "msg-body" }, text);
}

function message(msg) {
  const role = msg.role;
  const head = h("div", { class: "msg-head" }, ROLE_LABEL[role] || role,
    role === "tool" && msg.name ? h("code", {}, ` ${msg.name}`) : null,
    msg.tool_call_id ? h("span", { class: "muted small" }, ` (${msg.tool_call_id})`) : null);
  const body = msg.content ? textBody(msg.content) : null;
  const calls = (msg.tool_calls || []).map((call) => h("div", { class: "tool-call" },
    h("span", { class: "call-name" }, "→ ", call.name), h("span", { class: "muted small" }, ` ${call.id}`),
    typeof call.arguments === "string" ? h("span", { class: "badge bad small" }, "arguments are not JSON") : null,
    h("pre", {}, typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments, null, 2))));
  const empty = !msg.content && !calls.length ? h("div", { class: "msg-body muted" }, "(empty)") : null;
  if (role === "system") {
    const first = (msg.content || "").split("\n")[0];
    return h("details", { class: "msg system" }, h("summary", {}, h("span", { class: "msg-head" }, "system"), " ",
      h("span", { class: "muted" }, first.length > 90 ? first.slice(0, 90) + "…" : first)), body);
  }
  return h("div", { class: `msg ${role}` }, head, body, calls, empty);
}

function traceLine(trace) {
  if (!trace) return null;
  const lps = trace.logprobs || [];
  const mean = lps.length ? lps.reduce((a, b) => a + b, 0) / lps.length : null;
  return h("span", { class: "muted small" }, ` · ${trace.completion_ids.length} tokens sampled`,
    mean !== null ? ` · mean log-prob ${num(mean, 2)}` : "", trace.finish_reason ? ` · finish: ${trace.finish_reason}` : "");
}

export function conversation(ep) {
  const players = new Set(ep.turns.map((t) => t.agent));
  const turns = ep.turns.map((turn, i) => h("section", { class: "turn", id: `turn-${i}` },
    h("div", { class: "turn-head" }, h("b", {}, `Turn ${i + 1}`), players.size > 1 ? ` · ${turn.agent}` : "",
      " · reward ", h("span", { class: turn.reward > 0 ? "pos" : turn.reward < 0 ? "neg" : "" }, signed(turn.reward)), " ",
      components(turn.reward_components),
      turn.terminated ? h("span", { class: "tag" }, "terminated") : null, turn.truncated ? h("span", { class: "tag" }, "truncated") : null,
      traceLine(turn.trace)),
    turn.observation.map(message), message(turn.action),
    Object.keys(turn.info || {}).length ? h("details", { class: "info" }, h("summary", {}, "info"),
      h("pre", {}, JSON.stringify(turn.info, null, 2))) : null));
  const closing = ep.final_observation.length
    ? h("section", { class: "turn final" }, h("div", { class: "turn-head" }, h("b", {}, "End"), " · the environment's last word"),
        ep.final_observation.map(message))
    : null;
  return h("div", { class: "conversation" }, turns, closing);
}

function feedbackText(ep) {
  return ep.final_observation.map((m) => m.content).filter(Boolean).join("\n");
}

function toolList(tools) {
  if (!tools || !tools.length) return null;
  return h("details", { class: "tools" }, h("summary", {}, h("b", {}, "tools offered "),
    h("span", { class: "chips" }, tools.map((t) => h("code", { class: "chip" }, (t.function || t).name)))),
  tools.map((t) => {
    const fn = t.function || t;
    return h("div", { class: "tool-def" }, h("span", { class: "call-name" }, fn.name), " ", fn.description || "",
      h("pre", {}, JSON.stringify(fn.parameters || {}, null, 2)));
  }));
}

export function outcomeCard(ep) {
  const facts = [
    ["agent", ep.agent + (ep.opponent ? ` vs ${ep.opponent}` : "")],
    ...(ep.seat ? [["seat", ep.seat]] : []),
    ["outcome", num(ep.outcome, 3)], ["total reward", signed(ep.total_reward)], ["turns", ep.turns.length],
    ["time", `${seconds(ep.duration_s)} (agent ${seconds(ep.agent_s)}, env ${seconds(ep.env_s)})`],
  ];
  const byPlayer = Object.entries(ep.rewards_by_player || {});
  const feedback = feedbackText(ep);
  return h("div", { class: "card outcome" },
    h("div", { class: "facts" }, ep.error ? h("span", { class: "badge bad" }, "error") : badge(ep.success),
      facts.map(([k, v]) => h("span", {}, h("b", {}, k), " ", String(v)))),
    h("div", {}, h("b", {}, "reward components "), components(ep.reward_components)),
    byPlayer.length ? h("div", {}, h("b", {}, "rewards by player "), h("span", { class: "chips" },
      byPlayer.map(([p, r]) => h("span", { class: "chip" }, h("b", {}, p), " ", signed(r))))) : null,
    toolList(ep.tools),
    feedback ? h("div", { class: "feedback" }, h("b", {}, "verifier's feedback"), textBody(feedback)) : null,
    ep.error ? errorBox(ep.error) : null);
}

function header(data) {
  const ep = data.episode;
  return h("div", { class: "ep-title" }, h("h2", {}, ep.env_id, h("span", { class: "muted" }, ` · seed ${ep.seed} · sample ${ep.sample}`)),
    h("div", { class: "muted small" }, Object.keys(ep.env_kwargs).length ? kwargsText(ep.env_kwargs) + " · " : "",
      `${data.source.label}, line ${data.line} · id ${ep.id}`));
}

function tokenColor(lp) {
  const p = Math.exp(lp);
  return `hsl(${Math.round(120 * p)}, 75%, ${Math.round(82 - 8 * p)}%)`;
}

function visible(piece) {
  return piece.replace(/\n/g, "↵\n").replace(/\t/g, "⇥\t");
}

// The token card fills in once /api/tokens answers (loading a tokenizer can take seconds).
function tokenCard(key) {
  const card = h("section", { class: "card tokens-card", id: "tokens" }, h("h3", {}, "Tokens"),
    h("p", { class: "muted" }, "loading the tokenizer…"));
  api(`tokens/${encodeURIComponent(key)}`)
    .then((tokens) => card.replaceWith(tokenView(tokens)))
    .catch((err) => card.append(errorBox(err.message)));
  return card;
}

export function tokenView(tokens) {
  if (!tokens.rows.length) return h("p", { class: "muted" }, "no token traces");
  let mode = "logprob";
  const rowsBox = h("div", { class: "token-rows" });
  const draw = () => {
    rowsBox.replaceChildren(...tokens.rows.map((row, r) => {
      const turnAt = new Map();
      for (const seg of row.segments) turnAt.set(seg.start, seg.turn);
      const spans = row.ids.map((id, i) => {
        const lp = row.logprobs[i];
        const mask = row.mask[i];
        const text = tokens.decoded ? visible(row.pieces[i]) : `${id} `;
        let style = "";
        if (mode === "logprob" && mask && lp !== null) style = `background:${tokenColor(lp)}`;
        const cls = `tok ${mask ? "m1" : "m0"} ${mode}`;
        const tip = `position ${i} · id ${id}` + (lp !== null ? ` · log-prob ${lp.toFixed(3)} · p ${Math.exp(lp).toFixed(3)}` : "") +
          ` · loss mask ${mask}`;
        const span = h("span", { class: cls, style, title: tip, dataset: { mask: String(mask) } }, text);
        return turnAt.has(i) ? [h("span", { class: "turn-mark", title: `sampled in turn ${turnAt.get(i) + 1}` }, `T${turnAt.get(i) + 1}`), span] : span;
      });
      const sampled = row.mask.reduce((a, b) => a + b, 0);
      return h("div", { class: "token-row" },
        h("div", { class: "muted small" }, tokens.rows.length > 1 ? `sequence ${r + 1} (turn ${row.turns.map((t) => t + 1).join(", ")}) · ` : "",
          `${row.ids.length} tokens, ${sampled} with loss mask 1`),
        h("div", { class: tokens.decoded ? "tokens" : "tokens ids", dataset: { mode } }, spans));
    }));
  };
  const toggle = h("div", { class: "token-mode" }, "colour by ",
    ...[["logprob", "log-prob"], ["mask", "loss mask"]].map(([value, label]) => h("label", {},
      h("input", { type: "radio", name: "tokmode", value, checked: value === mode,
        onchange: () => { mode = value; legend.replaceChildren(...legendFor(mode)); draw(); } }), " ", label)));
  const legend = h("div", { class: "legend" }, ...legendFor(mode));
  draw();
  return h("section", { class: "card tokens-card", id: "tokens" },
    h("h3", {}, "Tokens ", h("span", { class: "muted small" }, "what the trainer sees: only tokens with loss mask 1 carry the loss")),
    tokens.decoded ? h("p", { class: "muted small" }, `tokenizer: ${tokens.tokenizer}`)
      : h("p", { class: "muted small" }, `token text unavailable (${tokens.tokenizer}); showing ids`),
    toggle, legend, rowsBox);
}

function legendFor(mode) {
  if (mode === "mask") {
    return [h("span", {}, h("span", { class: "tok m1 mask" }, "sampled"), " loss mask 1"),
      h("span", {}, h("span", { class: "tok m0 mask" }, "prompt"), " loss mask 0 (template, environment, tools)")];
  }
  return [h("span", {}, "sampled token probability: "), ...[0.02, 0.25, 0.5, 0.75, 1].map((p) =>
    h("span", { class: "tok", style: `background:${tokenColor(Math.log(p))}` }, `p=${p}`)),
    h("span", {}, h("span", { class: "tok m0 logprob" }, "prompt"), " not sampled")];
}

function groupTable(group, currentKey, scope) {
  const link = (key) => `#/episode/${encodeURIComponent(key)}?scope=${scope}`;
  const rows = group.members.map((m) => h("tr", { class: m.key === currentKey ? "current" : "" },
    h("td", {}, m.key === currentKey ? h("b", {}, "this") : h("a", { href: link(m.key) }, "open")),
    h("td", {}, m.sample), h("td", {}, m.agent), h("td", { class: "numcell" }, signed(m.total_reward)),
    h("td", { class: "numcell" }, num(m.outcome, 2)), h("td", {}, m.error ? h("span", { class: "badge bad" }, "error") : badge(m.success)),
    h("td", { class: "numcell" }, signed(m.advantage, 2)),
    h("td", {}, m.key === currentKey ? "" : h("a", { class: "compare-link", href: `#/compare/${encodeURIComponent(currentKey)}/${encodeURIComponent(m.key)}?scope=${scope}` }, "side by side"))));
  return h("section", { class: "card group" },
    h("h3", {}, `Same task: ${group.members.length} episode${group.members.length === 1 ? "" : "s"}`,
      h("span", { class: "muted small" }, ` · ${group.reward} mean ${num(group.mean)} · std ${num(group.std)} · advantage as ${group.method}`,
        group.members.length > 1 && group.std === 0 ? " · all rewards equal: no learning signal" : "")),
    h("table", { class: "group-table" }, h("thead", {}, h("tr", {}, ["", "sample", "agent", "reward", "outcome", "result",
      "advantage", ""].map((t) => h("th", {}, t)))), h("tbody", {}, rows)));
}

export async function renderEpisode(main, key, scope) {
  main.replaceChildren(h("p", { class: "muted" }, "loading episode…"));
  let data, group;
  try {
    [data, group] = await Promise.all([api(`episode/${encodeURIComponent(key)}`), api(`group/${encodeURIComponent(key)}`, { sources: scope })]);
  } catch (err) {
    main.replaceChildren(h("a", { href: "#/", class: "back" }, "← episodes"), errorBox(err.message));
    return;
  }
  const ep = data.episode;
  main.replaceChildren(h("div", { class: "episode-page", id: "episode" },
    h("a", { href: "#/", class: "back", onclick: (e) => { if (history.length > 1) { e.preventDefault(); history.back(); } } }, "← episodes"),
    header(data), outcomeCard(ep), group.members.length > 1 ? groupTable(group, key, scope) : null,
    h("h3", {}, "Conversation"), conversation(ep), ep.turns.some((t) => t.trace) ? tokenCard(key) : null));
}

export async function renderCompare(main, left, right, scope) {
  main.replaceChildren(h("p", { class: "muted" }, "loading…"));
  let group;
  try {
    group = await api(`group/${encodeURIComponent(left)}`, { sources: scope });
  } catch (err) {
    main.replaceChildren(errorBox(err.message));
    return;
  }
  const column = async (key, side) => {
    const box = h("div", { class: "compare-col", id: `compare-${side}` });
    const pick = h("select", { onchange: (e) => {
      const keys = side === "left" ? [e.target.value, right] : [left, e.target.value];
      location.hash = `#/compare/${keys.map(encodeURIComponent).join("/")}?scope=${scope}`;
    } }, group.members.map((m) => h("option", { value: m.key },
      `sample ${m.sample} · ${m.agent} · reward ${signed(m.total_reward)} · advantage ${signed(m.advantage, 2)}`)));
    pick.value = key;
    try {
      const data = await api(`episode/${encodeURIComponent(key)}`);
      box.append(pick, header(data), outcomeCard(data.episode), conversation(data.episode));
    } catch (err) {
      box.append(pick, errorBox(err.message));
    }
    return box;
  };
  const cols = await Promise.all([column(left, "left"), column(right, "right")]);
  const task = group.task;
  main.replaceChildren(h("div", { class: "compare-page" },
    h("a", { href: `#/episode/${encodeURIComponent(left)}?scope=${scope}`, class: "back" }, "← episode"),
    h("h2", {}, "Side by side: ", task.env_id, h("span", { class: "muted" }, ` · seed ${task.seed}`),
      h("span", { class: "muted small" }, ` · ${group.members.length} episodes of this task · ${group.reward} mean ${num(group.mean)} · std ${num(group.std)}`)),
    h("div", { class: "compare" }, cols)));
}
