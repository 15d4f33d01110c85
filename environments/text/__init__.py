"""Text environments: questions answered in words or numbers."""

from envarena.environments.text import arithmetic, countdown

__all__ = ["arithmetic", "countdown"]
