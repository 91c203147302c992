#!/usr/bin/env bash
# A short smoke run of every benchmark (CI): each must finish and print its numbers.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for script in bench/*.py; do
  case "$script" in  # helper processes started by drift.py and gateway.py, not benchmarks
    bench/drift_worker.py | bench/bare_relay.py) continue ;;
  esac
  start=$(date +%s)
  if timeout 300 .venv/bin/python "$script" --smoke > "/tmp/bench-smoke-$(basename "$script" .py).log" 2>&1; then
    echo "bench smoke ok   $script ($(( $(date +%s) - start ))s)"
  else
    echo "bench smoke FAIL $script ($(( $(date +%s) - start ))s): see /tmp/bench-smoke-$(basename "$script" .py).log"
    status=1
  fi
done
exit $status
