#!/bin/sh
# Runs the C++ and the PyTorch training-step benchmarks one after the other (same machine, same run) and prints
# iterations/s side by side with the ratio and the conv share. Usage: bench/step.sh [BUILD_DIR] [bench args...]
# e.g. bench/step.sh build 10 --warmup 1 --min-steps 1 (the arguments go to both benchmarks).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
[ $# -gt 0 ] && shift
ours=$(mktemp) theirs=$(mktemp)
trap 'rm -f "$ours" "$theirs"' EXIT
"$build/bench/bench_train_step_bench" "$@" | tee "$ours"
/usr/bin/python3 bench/pytorch_cpu_step.py "$@" | tee "$theirs"
echo
echo "| size | sites | asyndgan iter/s | PyTorch iter/s | ratio | conv share (asyndgan) |"
echo "|---:|---:|---:|---:|---:|---:|"
grep '^RESULT' "$ours" | while read -r _ size sites its share; do
  key="$size $sites"
  py=$(grep "^RESULT $key " "$theirs" | sed 's/.*its=//')
  awk -v s="${size#size=}" -v n="${sites#sites=}" -v a="${its#its=}" -v b="$py" -v c="${share#conv_share=}" \
    'BEGIN { printf "| %sx%s | %s | %.3f | %.3f | %.1fx | %.0f%% |\n", s, s, n, a, b, a / b, 100 * c }'
done
