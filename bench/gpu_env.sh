# Sourced by bench/gpu_check.sh and bench/build_without_cmake.sh: finds what a GPU build needs on a machine where
# nothing can be installed, and sets variables for both builds. cuDNN from the CUDA toolkit, the system, or the
# nvidia-cudnn wheel PyTorch brings; doctest, nifticlib and zlib headers from the system or from a folder of
# copies ($ASYNDGAN_GPU_DEPS, default .gpu-deps, made by bench/gpu_deps.sh on a machine that has them);
# OpenBLAS from the system, else bench/fallback_blas.c built on the spot (set later, by the caller).
CUDA_HOME=${CUDA_HOME:-$(dirname "$(dirname "$(command -v nvcc 2>/dev/null || echo /usr/local/cuda/bin/nvcc)")")}
ASYNDGAN_CUDA_ARCH=${ASYNDGAN_CUDA_ARCH:-90}
DEPS=${ASYNDGAN_GPU_DEPS:-$PWD/.gpu-deps}
PYTHON=${PYTHON:-python3}

first_file() { for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done; return 1; }

CUDNN_INCLUDE=${CUDNN_INCLUDE:-}
CUDNN_LIB=${CUDNN_LIB:-}
if [ -z "$CUDNN_INCLUDE" ]; then
  h=$(first_file "$CUDA_HOME/include/cudnn.h" /usr/include/cudnn.h /usr/include/x86_64-linux-gnu/cudnn.h) && CUDNN_INCLUDE=$(dirname "$h")
  l=$(first_file "$CUDA_HOME/lib64/libcudnn.so" "$CUDA_HOME/lib/libcudnn.so" /usr/lib/x86_64-linux-gnu/libcudnn.so) && CUDNN_LIB=$l
fi
if [ -z "$CUDNN_INCLUDE" ]; then  # the wheel PyTorch uses: headers and libcudnn.so.9 in site-packages
  wheel=$($PYTHON -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) if nvidia.cudnn.__file__ else list(nvidia.cudnn.__path__)[0])' 2>/dev/null || true)
  if [ -n "$wheel" ] && [ -e "$wheel/include/cudnn.h" ]; then
    CUDNN_INCLUDE=$wheel/include
    CUDNN_LIB=$(ls "$wheel"/lib/libcudnn.so* 2>/dev/null | sort | head -1)
    export LD_LIBRARY_PATH="$wheel/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
fi

DOCTEST_INCLUDE=${DOCTEST_INCLUDE:-}
[ -z "$DOCTEST_INCLUDE" ] && h=$(first_file /usr/include/doctest/doctest.h /usr/local/include/doctest/doctest.h "$DEPS/usr/include/doctest/doctest.h") &&
  DOCTEST_INCLUDE=$(dirname "$(dirname "$h")")
DOCTEST_CMAKE_DIR=$(dirname "$(first_file /usr/lib/cmake/doctest/doctestConfig.cmake "$DEPS/usr/lib/cmake/doctest/doctestConfig.cmake" || echo /nonexistent/x)")
# CLI11 (header-only; the asyndgan tool's command line): configuring the project needs its CMake package.
CLI11_CMAKE_DIR=$(dirname "$(first_file /usr/share/cmake/CLI11/CLI11Config.cmake "$DEPS/usr/share/cmake/CLI11/CLI11Config.cmake" || echo /nonexistent/x)")

NIFTI_INCLUDE=${NIFTI_INCLUDE:-}
[ -z "$NIFTI_INCLUDE" ] && h=$(first_file /usr/include/nifti/nifti2_io.h "$DEPS/usr/include/nifti/nifti2_io.h") && NIFTI_INCLUDE=$(dirname "$h")
NIFTI2_LIB=$(first_file /usr/lib/x86_64-linux-gnu/libnifti2.so "$DEPS/usr/lib/x86_64-linux-gnu/libnifti2.so" || true)
ZNZ_LIB=$(first_file /usr/lib/x86_64-linux-gnu/libznz.so "$DEPS/usr/lib/x86_64-linux-gnu/libznz.so" || true)
ZLIB_INCLUDE=$(dirname "$(first_file /usr/include/zlib.h "$DEPS/usr/include/zlib.h" || echo /nonexistent/x)")
# nlohmann-json (header-only; the engine's JSON) and toml++ (apps/io; only cmake's configure step needs it here).
NLOHMANN_INCLUDE=$(dirname "$(dirname "$(first_file /usr/include/nlohmann/json.hpp "$DEPS/usr/include/nlohmann/json.hpp" || echo /nonexistent/x/y)")")
NLOHMANN_CMAKE_DIR=$(dirname "$(first_file /usr/share/cmake/nlohmann_json/nlohmann_jsonConfig.cmake "$DEPS/usr/share/cmake/nlohmann_json/nlohmann_jsonConfig.cmake" || echo /nonexistent/x)")
TOMLPP_CMAKE_DIR=$(dirname "$(first_file /usr/lib/x86_64-linux-gnu/cmake/tomlplusplus/tomlplusplusConfig.cmake "$DEPS/usr/lib/x86_64-linux-gnu/cmake/tomlplusplus/tomlplusplusConfig.cmake" || echo /nonexistent/x)")
ZLIB_LIB=$(first_file /usr/lib/x86_64-linux-gnu/libz.so "$DEPS/usr/lib/x86_64-linux-gnu/libz.so" /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 || true)
# OpenSSL 3 (the distributed runtime's TLS) and zstd (its frames): the system's, else the copies (found through
# CMAKE_PREFIX_PATH=$DEPS/usr).
OPENSSL_ROOT=$([ -e /usr/include/openssl/ssl.h ] && echo /usr || echo "$DEPS/usr")
[ -d "$DEPS/usr/lib/x86_64-linux-gnu" ] && export LD_LIBRARY_PATH="$DEPS/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

OPENBLAS_LIB=$(first_file /usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblas.so.0 /usr/lib/x86_64-linux-gnu/libopenblas.so.0 \
  /usr/lib64/libopenblas.so.0 /usr/local/lib/libopenblas.so.0 || true)

# Nsight Compute for the check's kernel profile: on PATH, in the toolkit, or where NVIDIA's installer puts it.
NCU=${NCU:-$(command -v ncu || first_file "$CUDA_HOME/bin/ncu" /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu || true)}

gpu_env_report() {
  echo "nvcc:     $(command -v nvcc || echo MISSING) (sm_$ASYNDGAN_CUDA_ARCH)"
  echo "cuDNN:    ${CUDNN_LIB:-MISSING} (headers ${CUDNN_INCLUDE:-MISSING})"
  echo "doctest:  ${DOCTEST_INCLUDE:-MISSING: cuda_tests cannot be built (bench/gpu_deps.sh copies it)}"
  echo "nifti:    ${NIFTI2_LIB:-missing: built without NIfTI I/O (not needed by the check)}"
  echo "CLI11:    $([ -d "$CLI11_CMAKE_DIR" ] && echo "$CLI11_CMAKE_DIR" || echo 'MISSING: cmake cannot configure (bench/gpu_deps.sh copies it)')"
  echo "zlib:     ${ZLIB_LIB:-MISSING} (headers ${ZLIB_INCLUDE})"
  echo "nlohmann: $([ -d "$NLOHMANN_INCLUDE/nlohmann" ] && echo "$NLOHMANN_INCLUDE" || echo "MISSING: nothing builds (bench/gpu_deps.sh copies it)")"
  echo "toml++:   $([ -d "$TOMLPP_CMAKE_DIR" ] && echo "$TOMLPP_CMAKE_DIR" || echo "missing: cmake cannot configure, build_without_cmake.sh is used")"
  echo "OpenSSL:  $([ -e "$OPENSSL_ROOT/include/openssl/ssl.h" ] && echo "$OPENSSL_ROOT" || echo "MISSING: cmake cannot configure (bench/gpu_deps.sh copies it)")"
  echo "OpenBLAS: ${OPENBLAS_LIB:-missing: the CPU references use bench/fallback_blas.c}"
  echo "cmake:    $(command -v cmake || echo missing)"
  echo "ncu:      ${NCU:-missing: no kernel profile}"
}
