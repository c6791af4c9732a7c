#!/usr/bin/env bash
# Builds the Southbound database of the benchmark harness's ovn-kubernetes
# topology (../shared/bench) with the real upstream daemons, and copies it to
# OUT. The harness's own pieces do the work: lib.sh starts NB/SB ovsdb-server
# and ovn-northd in a fresh /tmp/ovnbench.* run dir, topo.py writes the NB
# transactions, `ovnbench.py load --converge` sends them and waits for
# `ovn-nbctl --wait=sb sync`. Everything started is stopped by its pidfile.
#
# usage: make_bench_sb.sh BENCH_DIR OUT [NODES:PODS:LBS]   (default 120:30:240)
set -euo pipefail
BENCH=$(cd "$1" && pwd)
OUT=$2
SCALE=${3:-120:30:240}
IFS=: read -r nodes pods lbs <<<"$SCALE"
HERE=$BENCH
# shellcheck source=/dev/null
. "$BENCH/lib.sh"
trap 'cleanup; rm -f "$CPU_TMP"' EXIT
trap 'exit 130' INT TERM
new_rundir
log "building the SB of $SCALE in $RUN"
"$PY" "$BENCH/topo.py" --nodes "$nodes" --pods-per-node "$pods" --lbs "$lbs" --netpols 5 \
    --lb-attach switch --nodes-per-txn 1 --format jsonl -o "$RUN/topo.jsonl"
start_ovsdb nb "$NB_SCHEMA"
start_ovsdb sb "$SB_SCHEMA"
"$OVN_NBCTL" init
write_northd_starter
"$RUN/start_northd.sh"
"$OVN_NBCTL" --timeout=60 --wait=sb sync
step load --nb "$OVN_NB_DB" --file "$RUN/topo.jsonl" --format jsonl --window 1 \
    --after-load true --converge --out "$RUN/load.json"
# Stop northd first so the SB is quiet, then snapshot it compacted.
stop_pidfile "$RUN/northd.pid"
"$OVN_APPCTL" -t "$RUN/sb.ctl" ovsdb-server/compact
cp "$RUN/sb.db" "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT ($(wc -c <"$OUT") bytes)"
