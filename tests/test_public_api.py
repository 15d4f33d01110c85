"""Everything `envarena.__all__` promises is importable, and `import envarena` stays light."""

import subprocess
import sys

import envarena


def test_every_public_name_resolves():
    missing = [name for name in envarena.__all__ if getattr(envarena, name, None) is None]
    assert missing == []


def test_import_does_not_load_the_model_stack():
    code = "import sys, envarena; envarena.make('games/wordle-v0'); print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
