#!/bin/sh
# Fuzzes one target for a bounded time: ./run.sh TARGET [SECONDS] [extra libFuzzer flags]
# (see README.md). Crashes go to artifacts/TARGET/, the corpus grows in corpus/TARGET/.
set -eu
cd "$(dirname "$0")"
target=$1
secs=${2:-180}
[ $# -ge 2 ] && shift 2 || shift $#
case $target in
    lflow_*) dict=dict/lflow.dict ;;
    *) dict=dict/ovsdb.dict ;;
esac
[ -d corpus ] || python3 seed-corpora.py
mkdir -p "corpus/$target"
exec env RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -dict="$dict" -print_final_stats=1 "$@"
