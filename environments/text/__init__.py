"""Text environments: questions answered in words or numbers."""

from envarena.environments.text import arithmetic, cipher, copy, countdown, knights_knaves, try_again, word_problems

__all__ = ["arithmetic", "cipher", "copy", "countdown", "knights_knaves", "try_again", "word_problems"]
