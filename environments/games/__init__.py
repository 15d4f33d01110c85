"""Games, single- and two-player.

Listed in `envarena.environments.CATALOG`; modules are imported when first used."""
