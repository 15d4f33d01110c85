"""`python -m envarena` is the `envarena` command."""

from envarena.cli import main

if __name__ == "__main__":
    main()
