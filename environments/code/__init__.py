"""Code environments (verified by running tests in the sandbox)."""
