"""Reasoning tasks from optional libraries: reasoning-gym's datasets when it is installed.

`pip install 'envarena[reasoning-gym]'` adds one `reasoning/<name>-v0` environment per
reasoning-gym dataset (`envarena.environments.GROUPS` names the module that registers them);
without it this category is empty and nothing else changes.
"""
