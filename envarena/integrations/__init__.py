"""Adapters to other projects (OpenEnv, TRL, verifiers, MCP). Each imports its project lazily,
so `import envarena` never needs them; install the matching extra to use one."""
