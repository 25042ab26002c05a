#!/usr/bin/env bash
# make audit — the locked dependencies against the OSV vulnerability database (pip-audit).
# Exit 0: nothing known; 1: vulnerabilities found (listed); 3: the database could not be reached,
# so NOTHING was checked — said plainly, never reported as a clean result.
set -u
BIN=${BIN:-.venv/bin}
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$BIN/pip-audit" -r requirements.lock --require-hashes --no-deps --vulnerability-service osv \
  --timeout 20 --progress-spinner off --desc on >"$out" 2>"$err"
rc=$?
if grep -qE "ConnectionError|NameResolutionError|Max retries exceeded|Read timed out|ConnectTimeout" "$err"; then
  echo "漏洞库（OSV，api.osv.dev）无法访问：本次没有检查任何依赖的已知漏洞。" >&2
  echo "The vulnerability database (OSV, api.osv.dev) could not be reached: NOTHING WAS CHECKED." >&2
  echo "Run 'make audit' again on a machine that can reach api.osv.dev." >&2
  exit 3
fi
cat "$out"
cat "$err" >&2
if [ "$rc" -eq 0 ]; then
  echo "已检查 $(grep -c -- '--hash' requirements.lock) 个锁定依赖：未发现已知漏洞 / no known vulnerabilities."
fi
exit "$rc"
