#!/bin/bash
# The one command to run on a machine with an NVIDIA GPU (issue 5): builds (Release, sm_90 or $ASYNDGAN_CUDA_ARCH),
# runs cuda_tests, compute-sanitizer memcheck on a short training run, the kernel benchmark, the step benchmark
# (1 and 4 sites, bf16 and fp32), a kernel profile of the bf16 step (when ncu is there) and the same step in
# PyTorch, then prints a summary with PASS/FAIL per target.
# Needs only nvcc, cuDNN and PyTorch's python3 (cmake optional: bench/build_without_cmake.sh otherwise).
# Results (logs, JSON lines, summary.md) go to $OUT if set, else bench/results/<date>. Whole run: <= 8 min on an
# H100 ($ASYNDGAN_CHECK_BUDGET seconds, default 470, shared by the stages; each stage also has its own cap).
# --build-only: the same build stage, then exit with its status (ctest's gpu_check_builds runs it on a CPU machine,
# so a check that cannot build fails CI instead of a lent GPU); $ASYNDGAN_CHECK_TARGETS overrides the cmake targets.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD_ONLY=0
for a in "$@"; do
  case $a in
    --build-only) BUILD_ONLY=1 ;;
    *) echo "usage: bench/gpu_check.sh [--build-only]" >&2; exit 2 ;;
  esac
done
T0=$(date +%s)
BUDGET=${ASYNDGAN_CHECK_BUDGET:-470}
RES=${OUT:-bench/results/$(date +%Y%m%d-%H%M%S)}
# Absolute: the fallback BLAS path below and the child bash of the build stage must not depend on the directory.
B=$(realpath -m "${ASYNDGAN_CHECK_BUILD:-build-gpucheck}")
mkdir -p "$RES"
LOG=$RES/check.log
exec > >(tee -a "$LOG") 2>&1
source bench/gpu_env.sh
PY=${PYTHON:-python3}

# stage NAME CAP_SECONDS CMD...: runs CMD under timeout min(CAP, what is left of the budget), prints elapsed time.
stage() {
  local name=$1 cap=$2; shift 2
  local left=$((T0 + BUDGET - $(date +%s)))
  local limit=$((cap < left ? cap : left))
  echo
  echo "=== $name (limit ${limit}s, $(($(date +%s) - T0))s into the check) ==="
  if [ "$limit" -lt 10 ]; then
    echo "SKIPPED: out of time"
    echo "$name skipped" >> "$RES/stages.txt"
    return 124
  fi
  local s=$(date +%s) rc
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  echo "--- $name: rc $rc, $(($(date +%s) - s)) s"
  echo "$name rc=$rc seconds=$(($(date +%s) - s))" >> "$RES/stages.txt"
  return $rc
}

echo "asyndgan GPU check: commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo '+changes'), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "nvidia-smi: not available"
gpu_env_report
: > "$RES/stages.txt"

# No OpenBLAS (a bare GPU image): the CPU references run on bench/fallback_blas.c.
if [ -z "$OPENBLAS_LIB" ] && [ -z "${ASYNDGAN_BLAS:-}" ]; then
  mkdir -p "$B"
  gcc -O3 -march=native -fopenmp -shared -fPIC -o "$B/fallback_blas.so" bench/fallback_blas.c && export ASYNDGAN_BLAS=$B/fallback_blas.so
  OPENBLAS_LIB=$B/fallback_blas.so
fi

build_cmake() {
  local cm
  cm=$(command -v cmake || $PY -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))' 2>/dev/null) || return 2
  local gen=() tests=OFF
  command -v ninja >/dev/null && gen=(-G Ninja)
  [ -d "$DOCTEST_CMAKE_DIR" ] && tests=ON
  "$cm" -S . -B "$B" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DASYNDGAN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ASYNDGAN_CUDA_ARCH" \
    -DASYNDGAN_BUILD_TESTS=$tests -Ddoctest_DIR="$DOCTEST_CMAKE_DIR" -DCLI11_DIR="$CLI11_CMAKE_DIR" -DASYNDGAN_CUDNN_INCLUDE="$CUDNN_INCLUDE" \
    -DASYNDGAN_CUDNN_LIB="$CUDNN_LIB" -DASYNDGAN_OPENBLAS_LIB="$OPENBLAS_LIB" ${NIFTI_INCLUDE:+-DASYNDGAN_NIFTI_INCLUDE="$NIFTI_INCLUDE"} \
    ${NIFTI2_LIB:+-DASYNDGAN_NIFTI2_LIB="$NIFTI2_LIB"} ${ZNZ_LIB:+-DASYNDGAN_ZNZ_LIB="$ZNZ_LIB"} \
    ${ZLIB_LIB:+-DZLIB_LIBRARY="$ZLIB_LIB"} -DZLIB_INCLUDE_DIR="$ZLIB_INCLUDE" -Dnlohmann_json_DIR="$NLOHMANN_CMAKE_DIR" \
    -Dtomlplusplus_DIR="$TOMLPP_CMAKE_DIR" -DCMAKE_PREFIX_PATH="$DEPS/usr" -DOPENSSL_ROOT_DIR="$OPENSSL_ROOT" || return 1
  local targets=(bench_gpu_step bench_cuda_kernels_bench)
  [ $tests = ON ] && targets+=(cuda_tests)
  [ -n "${ASYNDGAN_CHECK_TARGETS:-}" ] && read -ra targets <<< "$ASYNDGAN_CHECK_TARGETS"
  echo "building ${targets[*]}"
  "$cm" --build "$B" -j "$(nproc)" --target "${targets[@]}"
}
build() {
  build_cmake && return 0
  local rc=$?
  # The fallback builds the whole set, not the targets asked for: a CPU test would spend minutes, then time out.
  if [ -n "${ASYNDGAN_CHECK_TARGETS:-}" ]; then
    echo "cmake build failed (rc $rc) with ASYNDGAN_CHECK_TARGETS set: no fallback to bench/build_without_cmake.sh"
    return $rc
  fi
  echo "cmake build not possible here (see above): bench/build_without_cmake.sh"
  bench/build_without_cmake.sh "$B"
}
# timeout runs programs, not shell functions: the build runs in a child bash that gets the functions and the
# settings they read (from gpu_env.sh and above) through the environment.
export -f build build_cmake
export B PY DOCTEST_CMAKE_DIR ASYNDGAN_CUDA_ARCH CUDNN_INCLUDE CUDNN_LIB OPENBLAS_LIB NIFTI_INCLUDE NIFTI2_LIB ZNZ_LIB \
  ZLIB_LIB ZLIB_INCLUDE NLOHMANN_CMAKE_DIR TOMLPP_CMAKE_DIR CLI11_CMAKE_DIR DEPS OPENSSL_ROOT
touch "$RES/.build-start"
stage build 330 bash -c build > "$RES/build.log" 2>&1
build_rc=$?
tail -25 "$RES/build.log"
if [ $BUILD_ONLY = 1 ]; then
  built=$(find "$B" -newer "$RES/.build-start" -type f \( -name '*.a' -o -name '*.so' -o -perm -u+x \) \
    -not -path '*/CMakeFiles/*' 2>/dev/null | sort)
  echo
  echo "build only: rc $build_rc, $(($(date +%s) - T0)) s; libraries and programs written in $B:"
  echo "${built:-  none (up to date, or the build failed)}"
  exit $build_rc
fi

if [ -x "$B/tests/cuda/cuda_tests" ]; then
  stage cuda_tests 150 "$B/tests/cuda/cuda_tests" > "$RES/cuda_tests.log" 2>&1
  tail -15 "$RES/cuda_tests.log"
else
  echo "cuda_tests: not built" | tee "$RES/cuda_tests.log"
fi

if command -v compute-sanitizer >/dev/null && [ -x "$B/bench/bench_gpu_step" ]; then
  stage memcheck 120 compute-sanitizer --tool memcheck --print-limit 20 \
    "$B/bench/bench_gpu_step" --sites 1 --size 64 --batch 2 --iters 2 --warmup 1 --samples 4 --precision bf16 \
    > "$RES/sanitizer.log" 2>&1
  tail -5 "$RES/sanitizer.log"
else
  echo "compute-sanitizer or bench_gpu_step missing" | tee "$RES/sanitizer.log"
fi

[ -x "$B/bench/bench_cuda_kernels_bench" ] && stage kernels 90 "$B/bench/bench_cuda_kernels_bench" --json "$RES/kernels.jsonl"
if [ -x "$B/bench/bench_gpu_step" ]; then
  for p in bf16 fp32; do
    stage "step $p" 100 "$B/bench/bench_gpu_step" --sites 1,4 --precision $p --iters 10 --warmup 3 \
      --gemm-json "$RES/kernels.jsonl" --json "$RES/step.jsonl"
  done
fi
# Where the step's time goes: per-kernel GPU time of one bf16 step under ncu against the same step's wall time
# without the profiler. Deterministic cuDNN algorithms in both runs, so no algorithm search is profiled or timed.
profile() {
  local step=("$B/bench/bench_gpu_step" --sites 1 --precision bf16 --samples 16)
  ASYNDGAN_CUDNN_DETERMINISTIC=1 "${step[@]}" --iters 5 --warmup 2 --json "$RES/profile_step.jsonl" || return
  # 1 warm-up and 2 steps: gpu_summary.py takes one step as the last launches that repeat the step before.
  ASYNDGAN_CUDNN_DETERMINISTIC=1 "$NCU" --clock-control none --metrics gpu__time_duration.sum --csv --page raw \
    "${step[@]}" --iters 2 --warmup 1 > "$RES/ncu.csv" 2> "$RES/ncu.err"
  local rc=$?
  echo "ncu rc $rc, $(grep -c '^"' "$RES/ncu.csv") CSV rows in $RES/ncu.csv"
  tail -3 "$RES/ncu.err"
  return $rc
}
if [ -z "$NCU" ]; then
  echo; echo "=== profile: SKIPPED, ncu not found (PATH, \$CUDA_HOME/bin, /opt/nvidia/nsight-compute) ==="
elif [ -x "$B/bench/bench_gpu_step" ]; then
  export -f profile
  export RES NCU
  stage profile 120 bash -c profile > "$RES/profile.log" 2>&1
  tail -6 "$RES/profile.log"
fi
PYTHONUNBUFFERED=1 stage "pytorch eager bf16" 90 $PY bench/pytorch_step.py --modes eager_bf16 --iters 10 --json "$RES/step.jsonl"
PYTHONUNBUFFERED=1 stage "pytorch compile bf16" 200 $PY bench/pytorch_step.py --modes compile_bf16 --iters 10 --json "$RES/step.jsonl"
# Last, with what time is left: the step's convolutions in NCHW against NHWC (decides the engine's GPU layout).
[ -x "$B/bench/bench_cuda_kernels_bench" ] && stage "conv layouts" 90 "$B/bench/bench_cuda_kernels_bench" --conv-layouts \
  --json "$RES/kernels.jsonl"

echo
$PY bench/gpu_summary.py "$RES" | tee "$RES/summary.md"
echo "results in $RES; $(($(date +%s) - T0)) s in all"
