"""Code environments, verified by running tests in the sandbox.

Listed in `envarena.environments.CATALOG`; modules are imported when first used."""
