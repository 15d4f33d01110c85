"""The viewer's HTTP side: a JSON API over a `Catalog` plus the page's own static files.

Nothing is fetched from elsewhere: the page is plain HTML, CSS and JavaScript shipped in
`envarena/view/static/`, so it works offline and behind any firewall.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError

from envarena.types import Episode
from envarena.version import __version__
from envarena.view.index import EpisodeSummary
from envarena.view.query import EpisodeFilter, episode_page, find, group_of
from envarena.view.sources import Catalog, Source
from envarena.view.tokens import TokenizerLookup, decode_pieces, token_rows

__all__ = ["create_app", "tokenizer_lookup"]

STATIC = Path(__file__).parent / "static"


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity; metrics may."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _source_ids(raw: str) -> list[int]:
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise HTTPException(400, f"sources must be comma-separated numbers, not '{raw}'") from None


def tokenizer_lookup(catalog: Catalog, explicit: str | None = None) -> TokenizerLookup:
    """Where token text comes from: `explicit`, else the run's checkpoint or model, else each agent's model."""
    run = catalog.run
    if run is None:
        return TokenizerLookup(explicit)
    return TokenizerLookup(explicit, run.tokenizer_folder(), str(run.config().get("model") or "") or None)


def create_app(catalog: Catalog, tokenizers: TokenizerLookup | None = None) -> FastAPI:
    """The viewer for `catalog`; `tokenizers` turns token ids into text where a tokenizer is at hand."""
    tokenizers = tokenizers or tokenizer_lookup(catalog)
    app = FastAPI(title="envarena view", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/info")
    def info() -> dict[str, Any]:
        catalog.rescan()
        run = catalog.run
        return {
            "title": catalog.title,
            "version": __version__,
            "sources": [s.describe() for s in catalog.sources],
            "run": None if run is None else {"path": str(run.path), "config": _finite(run.config())},
        }

    @app.get("/api/episodes")
    def episodes(
        sources: str = "", env: str = "", agent: str = "", outcome: str = "", error: str = "", q: str = "",
        offset: int = Query(0, ge=0), limit: int = Query(50, ge=1), sort: str = "line", desc: bool = False,
    ) -> dict[str, Any]:
        flt = EpisodeFilter(_source_ids(sources), env=env, agent=agent, outcome=outcome, error=error, q=q)
        try:
            return _finite(episode_page(catalog, flt, offset=offset, limit=limit, sort=sort, descending=desc))
        except KeyError as err:
            raise HTTPException(404, f"no source {err}") from None

    def _episode(key: str) -> tuple[Source, EpisodeSummary, Episode]:
        try:
            source, summary = find(catalog, key)
        except KeyError:
            raise HTTPException(404, f"no episode '{key}'") from None
        try:
            return source, summary, Episode.model_validate_json(source.index.read(summary))
        except ValidationError as err:
            raise HTTPException(422, f"line {summary.line} of {source.path} is not an episode: {err.errors()[0]['msg']}") from None

    @app.get("/api/episode/{key}")
    def episode(key: str) -> dict[str, Any]:
        source, summary, record = _episode(key)
        return _finite({"key": key, "source": source.describe(), "line": summary.line,
                        "episode": record.model_dump(mode="json")})

    @app.get("/api/tokens/{key}")
    def tokens(key: str) -> dict[str, Any]:
        """Apart from the episode: finding a tokenizer may take seconds, the conversation should not wait."""
        source, _, record = _episode(key)
        rows = token_rows(record)
        out: dict[str, Any] = {"rows": rows, "decoded": False, "tokenizer": ""}
        if rows:
            tokenizer, where = tokenizers.get(record.agent, in_run=source.in_run)
            out["tokenizer"] = where
            if tokenizer is not None:
                for row in rows:
                    row["pieces"] = decode_pieces(tokenizer, row["ids"])
                out["decoded"] = True
        return _finite(out)

    @app.get("/api/group/{key}")
    def group(key: str, sources: str = "") -> dict[str, Any]:
        run = catalog.run
        config = run.config() if run is not None else {}
        reward = "outcome" if config.get("episode_reward") == "outcome" else "total_reward"
        method = str(config.get("advantage") or "grpo")
        try:
            return _finite(group_of(catalog, key, _source_ids(sources), reward=reward, method=method))
        except KeyError:
            raise HTTPException(404, f"no episode '{key}'") from None

    @app.get("/api/metrics")
    def metrics() -> dict[str, Any]:
        if catalog.run is None:
            return {"rows": []}
        return {"rows": _finite(catalog.run.metrics())}

    return app
