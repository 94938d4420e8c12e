#!/usr/bin/env bash
# `make stop`: stop the worker, then the Prefect server, that `make serve` started (by their pid files;
# each runs in its own process group). TERM first; a worker that is still up after 15 s gets a second TERM
# (Prefect's CLI then kills it: flow runs still running end as crashed); anything left after 60 s is killed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

signal() { kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null || true; }

stop() {
  local name=$1 pid t0 again=0
  if ! alive "$name"; then
    rm -f "$RUN_DIR/$name.pid"; echo "stop: no $name running"; return
  fi
  pid=$(cat "$RUN_DIR/$name.pid")
  signal TERM "$pid"
  t0=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if (( SECONDS - t0 > 15 && again == 0 )); then signal TERM "$pid"; again=1; fi
    if (( SECONDS - t0 > 60 )); then signal KILL "$pid"; break; fi
    sleep 1
  done
  rm -f "$RUN_DIR/$name.pid"
  echo "stop: $name stopped (pid $pid)"
}
stop worker
stop server
