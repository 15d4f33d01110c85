"""Tool-use environments: the agent must call tools to succeed.

Listed in `envarena.environments.CATALOG`; modules are imported when first used."""
