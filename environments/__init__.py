"""The catalog. Importing this package registers every catalog environment.

One module per environment, a folder per category; a module registers its environment with
`@register("category/name-vN")`, so adding one means adding a file and an import below.
"""

from envarena.environments import code, games, reasoning, text, tools

__all__ = ["code", "games", "reasoning", "text", "tools"]
