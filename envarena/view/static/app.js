// The page's router: #/ is the episode table (and a run's curves), #/episode/KEY one episode,
// #/compare/KEY/KEY two episodes of a task side by side. KEY is "source:line".

import { api, errorBox, h } from "./dom.js";
import { renderList } from "./list.js";
import { renderCompare, renderEpisode } from "./episode.js";

let info = null;  // /api/info: the sources and the training run

function parseHash() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  return { parts: (path || "/").split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

async function route() {
  const main = document.getElementById("main");
  const { parts, params } = parseHash();
  if (!info || !parts.length) {  // the start page asks again: a live training run adds steps
    try {
      info = await api("info");
    } catch (err) {
      main.replaceChildren(errorBox(`the viewer's server did not answer: ${err.message}`));
      return;
    }
    document.getElementById("title").textContent = info.title;
    document.title = `envarena view · ${info.title}`;
  }
  const scope = params.get("scope") || "";
  if (parts[0] === "episode" && parts[1]) await renderEpisode(main, parts[1], scope);
  else if (parts[0] === "compare" && parts[1] && parts[2]) await renderCompare(main, parts[1], parts[2], scope);
  else renderList(main, info, params);
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", route);
route();
