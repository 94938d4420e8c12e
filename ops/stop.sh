#!/usr/bin/env bash
# `make stop`: stop the worker, then the Prefect server, that `make serve` started (by their pid files;
# each runs in its own process group). TERM first; a worker that is still up after 15 s gets a second TERM
# (Prefect's CLI then kills it: flow runs still running end as crashed); anything left after 60 s is killed.
# Then the worker's flow runs that are still up (TERM, KILL after 30 s), then the server.
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
# flow runs of this worker (PREFECT_HOME as here): they run in sessions of their own, so the TERM to the worker's
# group does not reach them, and one busy in a long computation outlived the worker and the server
flow_runs() {
  local p
  for p in $(pgrep -f 'prefect[.]engine' || true); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "PREFECT_HOME=$PREFECT_HOME" && echo "$p"
  done
  return 0
}

stop_flow_runs() {
  local pids t0
  pids=$(flow_runs)
  [[ -z "$pids" ]] && return
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  t0=$SECONDS
  while [[ -n "$(flow_runs)" ]] && (( SECONDS - t0 < 30 )); do sleep 1; done
  for p in $(flow_runs); do kill -KILL "$p" 2>/dev/null || true; done
  echo "stop: flow runs stopped (pid $(echo $pids | tr ' ' ','))"
}

stop worker
stop_flow_runs
stop server
