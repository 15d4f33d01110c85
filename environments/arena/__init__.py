"""Games from optional libraries: TextArena's games when it is installed.

`pip install 'envarena[arena]'` adds one `arena/<name>-v0` environment per TextArena game
that runs offline (`catalog.LEFT_OUT` lists the others, with why; `envarena.environments.GROUPS`
names the module that registers them); without it this category is empty and nothing else
changes.
"""
