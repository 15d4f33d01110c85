"""Text environments: questions answered in words or numbers.

Listed in `envarena.environments.CATALOG`; modules are imported when first used."""
