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

# constraints.txt pins what must never float (torch's CPU build, once the model stack lands).
python3 -m pip install --disable-pip-version-check -q -c constraints.txt -e ".${extras}"

# pyenv only exposes new console scripts after a rehash.
if command -v pyenv >/dev/null 2>&1; then
  pyenv rehash
fi
