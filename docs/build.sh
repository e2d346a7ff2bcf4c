#!/usr/bin/env bash
# Build the documentation with every warning an error (-W), offline-safe.
#
#   docs/build.sh                       HTML in docs/_build/html, the gallery run in its
#                                       small settings (~2 min on 2 cores)
#   docs/build.sh --fast                every page read and cross-referenced, autosummary
#                                       and numpydoc included, gallery not executed, no
#                                       output written (-b dummy; < 1 min): for CI
#   docs/build.sh --clean [...]         remove docs/_build and the generated pages first
#   docs/build.sh --fetch-inventories   download the intersphinx inventories into
#                                       docs/_intersphinx/ (needs network; commit them)
#
# Extra arguments after the options go to sphinx-build.
set -euo pipefail
DOCS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$DOCS"
PYTHON="${PYTHON:-python}"
builder=html
opts=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --fast) builder=dummy; opts+=(-D plot_gallery=0); shift ;;
        --clean) rm -rf _build generated auto_examples; shift ;;
        --fetch-inventories)
            mkdir -p _intersphinx
            "$PYTHON" - <<'PY'
import urllib.request
from pathlib import Path

import conf  # noqa: the project list and URLs live in conf.py

for name, url in conf._INVENTORIES.items():
    dest = Path("_intersphinx") / f"{name}.inv"
    with urllib.request.urlopen(f"{url}/objects.inv", timeout=30) as r:
        dest.write_bytes(r.read())
    print(f"{dest}: {dest.stat().st_size} bytes from {url}")
PY
            exit 0 ;;
        *) break ;;
    esac
done
export MPLBACKEND=Agg OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
exec "$PYTHON" -m sphinx -W --keep-going -b "$builder" "${opts[@]}" "$@" . "_build/$builder"
