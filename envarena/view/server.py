"""Running the viewer: bind loopback first, then index, then serve.

The socket is bound before anything slow happens, so a busy port is reported at once in one
sentence, and it is handed to uvicorn as is (no window in which another program could take
the port). Indexing starts in a background thread: the page is up immediately and the
table fills as soon as the files are read.
"""

from __future__ import annotations

import errno
import os
import socket
import sys
import threading
import webbrowser
from collections.abc import Callable

from envarena.errors import EnvArenaError
from envarena.view.sources import Catalog
from envarena.view.tokens import TokenizerLookup

__all__ = ["bind_loopback", "serve_view"]

HOST = "127.0.0.1"


def bind_loopback(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` (0 picks a free port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        reason = "is already in use" if err.errno == errno.EADDRINUSE else f"cannot be used ({err.strerror})"
        raise EnvArenaError(f"port {port} on {HOST} {reason}; choose another with --port (0 picks a free one)") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _has_display() -> bool:
    """Only open a browser where one can appear (a text browser would take over the terminal)."""
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _warm(catalog: Catalog, lookup: TokenizerLookup) -> None:
    """Index every file, then load a training run's tokenizer, before anyone asks."""
    for source in catalog.sources:
        source.index.refresh()
    if catalog.run is not None and any(s.traced for source in catalog.sources for s in source.index.summaries[:1]):
        lookup.get("", in_run=True)


def serve_view(catalog: Catalog, *, port: int, open_browser: bool, tokenizer: str | None = None,
               announce: Callable[[str], None] = print) -> None:
    """Serve `catalog` on loopback until interrupted."""
    import uvicorn
    from starlette.middleware.trustedhost import TrustedHostMiddleware

    from envarena.view.app import create_app, tokenizer_lookup

    sock = bind_loopback(port)
    lookup = tokenizer_lookup(catalog, tokenizer)
    problem = lookup.explicit_problem()
    if problem is not None:
        sock.close()
        raise EnvArenaError(f"--tokenizer '{tokenizer}' could not be loaded ({problem})")
    app = create_app(catalog, lookup)
    # Only answer requests addressed to loopback: a web page whose domain was rebound to
    # 127.0.0.1 (DNS rebinding) must not read trajectories through the browser.
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=[HOST, "localhost"])
    url = f"http://{HOST}:{sock.getsockname()[1]}/"
    threading.Thread(target=_warm, args=(catalog, lookup), name="envarena-view-index", daemon=True).start()
    announce(f"envarena view: {len(catalog.sources)} rollout file{'s' * (len(catalog.sources) != 1)} at {url}  (Ctrl-C stops)")
    if open_browser and _has_display():
        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then re-raised Ctrl-C: nothing is left to report
        pass
    finally:
        sock.close()
