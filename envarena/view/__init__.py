"""`envarena view`: a local web page to look at trajectories and training runs.

Rollout files are indexed by byte offset (`index`), resolved from command-line paths
(`sources`), filtered and grouped (`query`), laid out token by token (`tokens`) and served
over loopback by FastAPI (`app`, `server`) with a page made of local files only (`static/`).
"""

from envarena.view.app import create_app, tokenizer_lookup
from envarena.view.server import serve_view
from envarena.view.sources import Catalog, open_paths

__all__ = ["Catalog", "create_app", "open_paths", "serve_view", "tokenizer_lookup"]
