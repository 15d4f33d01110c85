#!/usr/bin/env bash
# Installs envarena (editable) into the current Python environment; `--test` adds the test
# extras. Idempotent, so the README's commands can always start with it.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
if [[ "${1:-}" == "--test" ]]; then
  extras="[test]"
fi

# constraints.txt pins what must never float (torch's CPU build, once the model stack lands).
python3 -m pip install --disable-pip-version-check -q -c constraints.txt -e ".${extras}"

# pyenv only exposes new console scripts after a rehash.
if command -v pyenv >/dev/null 2>&1; then
  pyenv rehash
fi
