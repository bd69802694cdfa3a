#!/usr/bin/env bash
# Regenerate the generated parts of README.md (the list of checks) from the
# code, between the BEGIN/END markers.
set -euo pipefail
cd "$(dirname "$0")/.."
checks=$(cargo run -q -p host-harness -- list-checks)
python3 - "$checks" <<'PY'
import re, sys
checks = sys.argv[1].rstrip("\n") + "\n"
text = open("README.md").read()
begin, end = "<!-- BEGIN CHECKS (generated: make readme) -->\n", "<!-- END CHECKS -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open("README.md", "w").write(head + begin + checks + end + tail)
PY
