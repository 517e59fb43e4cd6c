#!/bin/bash
# Builds the CUDA engine (base, kernels, engine) and the GPU check's executables (cuda_tests, bench_gpu_step, bench_cuda_kernels_bench)
# with nvcc and g++ alone, for a GPU machine without cmake. Usage: bench/build_without_cmake.sh [BUILD_DIR]
# (default build-nocmake; outputs BUILD_DIR/tests/cuda/cuda_tests and BUILD_DIR/bench/bench_*, as cmake lays them
# out). Mirrors the CMake flags: Release -O3, C++20 host code, CUDA C++17 for sm_$ASYNDGAN_CUDA_ARCH (default 90).
# Without nifticlib data/nifti.cpp is left out (the check reads no NIfTI); without doctest cuda_tests is skipped.
# An object is rebuilt when its source is newer; header edits need a fresh BUILD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-nocmake}
source bench/gpu_env.sh
JOBS=${JOBS:-$(nproc)}
mkdir -p "$B/obj" "$B/tests/cuda" "$B/bench"
[ -n "$CUDNN_INCLUDE" ] || { echo "build_without_cmake: cuDNN not found (CUDNN_INCLUDE / CUDNN_LIB)" >&2; exit 1; }

DEFS="-DASYNDGAN_HAS_CUDA=1 -DASYNDGAN_HAS_CUDNN=1"
INC="-I. -I$CUDA_HOME/include -I$CUDNN_INCLUDE"
[ -d "$ZLIB_INCLUDE" ] && INC="$INC -I$ZLIB_INCLUDE"
[ -n "$DOCTEST_INCLUDE" ] && INC="$INC -I$DOCTEST_INCLUDE"
[ -n "$NIFTI_INCLUDE" ] && INC="$INC -I$NIFTI_INCLUDE"
[ -d "$NLOHMANN_INCLUDE/nlohmann" ] && INC="$INC -I$NLOHMANN_INCLUDE"  # engine/io/json.h
CXXFLAGS="-O3 -DNDEBUG -std=c++20 -fopenmp -fPIC -march=native $DEFS $INC"
NVFLAGS="-O3 -DNDEBUG -std=c++17 -arch=sm_$ASYNDGAN_CUDA_ARCH --expt-relaxed-constexpr -lineinfo -Xcompiler=-fPIC,-fopenmp $DEFS $INC"
# Quoted for the sh -c that runs each compile line: the macros must arrive as string literals.
BLAS_DEFS=('-DASYNDGAN_OPENBLAS_OPENMP_PATH=\"\"' "-DASYNDGAN_OPENBLAS_PATH=\\\"${OPENBLAS_LIB:-libopenblas.so.0}\\\"")

# compile SRC...: one object per source under $B/obj (path flattened), in parallel.
compile() {
  for src in "$@"; do
    obj="$B/obj/$(echo "${src%.*}" | tr / _).o"
    [ "$obj" -nt "$src" ] && continue
    case "$src" in
      *.cu) echo "nvcc $NVFLAGS -c $src -o $obj" ;;
      kernels/cpu/blas.cpp) echo "g++ $CXXFLAGS ${BLAS_DEFS[*]} -c $src -o $obj" ;;
      *) echo "g++ $CXXFLAGS -c $src -o $obj" ;;
    esac
  done | xargs -d '\n' -P "$JOBS" -I{} sh -c '{} || exit 255'
}
objs() { for src in "$@"; do echo "$B/obj/$(echo "${src%.*}" | tr / _).o"; done; }
archive() {  # archive NAME SRC...
  local name=$1; shift
  compile "$@"
  rm -f "$B/lib$name.a"
  ar rcs "$B/lib$name.a" $(objs "$@")
}

shopt -s nullglob globstar
# The layers as CMake builds them: base/, the kernels (kernels/cpu and the CUDA kernels), then the engine, whose
# engine/cuda/ holds the Tensor adapters and the kernel table of a CUDA build.
base_src=(base/*.cpp)
kernel_src=(kernels/cpu/*.cpp kernels/cuda/*.cu)
engine_src=(engine/**/*.cpp)
data_src=(data/*.cpp)
[ -n "$NIFTI2_LIB" ] || data_src=($(printf '%s\n' "${data_src[@]}" | grep -v '^data/nifti.cpp$'))
echo "compiling ${#base_src[@]} base, ${#kernel_src[@]} kernel, ${#engine_src[@]} engine, ${#data_src[@]} data," \
  "models and dist sources with $JOBS jobs"
archive asyndgan_base "${base_src[@]}"
archive asyndgan_kernels "${kernel_src[@]}"
archive asyndgan_engine "${engine_src[@]}"
archive asyndgan_models models/*.cpp
archive asyndgan_data "${data_src[@]}"
archive asyndgan_dist dist/*.cpp

LIBS="$B/libasyndgan_dist.a $B/libasyndgan_models.a $B/libasyndgan_data.a $B/libasyndgan_engine.a"
LIBS="$LIBS $B/libasyndgan_kernels.a $B/libasyndgan_base.a"
SYS="-L$CUDA_HOME/lib64 -L$CUDA_HOME/lib -lcudart -lcublas -lcublasLt $CUDNN_LIB ${ZLIB_LIB:--lz} -ldl -lpthread -fopenmp"
[ -n "$NIFTI2_LIB" ] && SYS="$SYS $NIFTI2_LIB $ZNZ_LIB"
RPATH="-Wl,-rpath,$CUDA_HOME/lib64:$(dirname "$CUDNN_LIB")"

link() {  # link OUT SRC...
  local out=$1; shift
  compile "$@"
  g++ -o "$out" $(objs "$@") $LIBS $SYS $RPATH
  echo "built $out"
}
link "$B/bench/bench_gpu_step" bench/gpu_step.cpp
link "$B/bench/bench_cuda_kernels_bench" bench/cuda_kernels_bench.cpp
if [ -n "$DOCTEST_INCLUDE" ]; then
  CXXFLAGS="$CXXFLAGS -Itests -DASYNDGAN_GOLDEN_DIR=\\\"$PWD/tests/golden\\\""
  link "$B/tests/cuda/cuda_tests" tests/cuda/*.cpp
else
  echo "doctest not found: cuda_tests not built (run bench/gpu_deps.sh where it is installed and carry .gpu-deps)" >&2
fi
