"""Text environments: questions answered in words or numbers."""

from envarena.environments.text import arithmetic, copy, countdown

__all__ = ["arithmetic", "copy", "countdown"]
