#!/usr/bin/env bash
# Runs the README's set-up block (the first ```bash block under "## Quick start") verbatim, as
# a new user would: in a fresh clone of this checkout's HEAD, in a shell whose PATH lacks
# ~/.local/bin (where `pip install --user` puts uv's binary) and where a bare `uv` fails, so
# the block passes only if it works without uv on PATH. Exit 0 when every line succeeds.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

git clone --quiet "$root" "$work/xstress"
# The README as committed, like the code the block runs on.
block="$(awk '/^## Quick start/ {inside = 1}
              inside && /^```bash$/ {fenced = 1; next}
              fenced && /^```$/ {exit}
              fenced' "$work/xstress/README.md")"
if [ -z "$block" ]; then
  echo "check_readme_setup: no \`\`\`bash block under '## Quick start' in README.md" >&2
  exit 1
fi

# A PATH without ~/.local/bin, behind a `uv` that refuses: the block must not need either.
mkdir -p "$work/bin"
printf '#!/bin/sh\necho "check_readme_setup: bare uv called; it is not on PATH here" >&2\nexit 127\n' \
  > "$work/bin/uv"
chmod +x "$work/bin/uv"
clean_path="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF -e "$HOME/.local/bin" -e "~/.local/bin" \
  | paste -sd: -)"

echo "check_readme_setup: running README's set-up block in a fresh clone:"
printf '%s\n' "$block" | sed 's/^/  /'
cd "$work/xstress"
env -u VIRTUAL_ENV -u XSTRESS_ROOT -u UV_PROJECT_ENVIRONMENT PATH="$work/bin:$clean_path" \
  bash -euo pipefail -c "$block"
echo "check_readme_setup: ok"
