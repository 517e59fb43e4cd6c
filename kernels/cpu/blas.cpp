// Opens OpenBLAS at first use. Why not link it: OpenBLAS picks its kernels from the CPU model when it loads,
// and Debian's 0.3.21 does not know recent Xeons (e.g. model 207), falling back to SSE3 kernels 3-4x slower;
// OPENBLAS_CORETYPE must be set before it loads, which a linked library does not allow. Rules, in order:
//  - library: $ASYNDGAN_BLAS if set; else the OpenMP build of OpenBLAS when installed (its threads are the
//    engine's OpenMP pool, so BLAS and the engine's loops never fight over cores); else the pthread build.
//  - kernels: a user's OPENBLAS_CORETYPE always wins; if unset on an AVX-512 CPU, SkylakeX (its AVX-512
//    SGEMM kernels are what newer Xeon kernel sets use too); otherwise OpenBLAS's own detection.
#include "kernels/cpu/blas.h"
#include <dlfcn.h>
#include <cstdlib>
#include <mutex>
#include "base/error.h"

#ifndef ASYNDGAN_OPENBLAS_OPENMP_PATH
#define ASYNDGAN_OPENBLAS_OPENMP_PATH ""
#endif
#ifndef ASYNDGAN_OPENBLAS_PATH
#define ASYNDGAN_OPENBLAS_PATH "libopenblas.so.0"
#endif

namespace asyndgan::kern::cpu {
namespace {

enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };  // CBLAS enum values
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
using DgemmFn = void (*)(int, int, int, int, int, int, double, const double*, int, const double*, int, double, double*,
                         int);

struct Blas {
  BlasInfo info;
  SgemmFn sgemm = nullptr;
  DgemmFn dgemm = nullptr;
  void (*set_threads)(int) = nullptr;
  int (*get_threads)() = nullptr;
};

bool cpu_has_avx512() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

template <class F> F symbol(void* lib, const char* name, const std::string& path) {
  void* p = dlsym(lib, name);
  if (!p) throw IOError(msg("BLAS library ", path, " has no symbol ", name, ": point ASYNDGAN_BLAS at an OpenBLAS build"));
  return reinterpret_cast<F>(p);
}

Blas load() {
  Blas b;
  const char* user_core = std::getenv("OPENBLAS_CORETYPE");
  if (user_core && *user_core) {
    b.info.core_note = "OPENBLAS_CORETYPE set by the user";
  } else if (cpu_has_avx512()) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    b.info.core_note = "SkylakeX chosen by the engine for this AVX-512 CPU (set OPENBLAS_CORETYPE to override)";
  } else {
    b.info.core_note = "OpenBLAS's own CPU detection";
  }

  std::string candidates[3];
  if (const char* user = std::getenv("ASYNDGAN_BLAS"); user && *user) candidates[0] = user;
  candidates[1] = ASYNDGAN_OPENBLAS_OPENMP_PATH;
  candidates[2] = ASYNDGAN_OPENBLAS_PATH;
  void* lib = nullptr;
  std::string tried;
  for (const std::string& path : candidates) {
    if (path.empty()) continue;
    lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      b.info.path = path;
      break;
    }
    tried += "\n  " + path + ": " + dlerror();
    if (!candidates[0].empty()) break;  // a user's choice that fails is an error, not a silent fallback
  }
  if (!lib)
    throw IOError(msg("cannot open OpenBLAS:", tried,
                      "\ninstall it with 'apt-get install libopenblas0-openmp' (or libopenblas0), or set ASYNDGAN_BLAS"));

  b.sgemm = symbol<SgemmFn>(lib, "cblas_sgemm", b.info.path);
  b.dgemm = symbol<DgemmFn>(lib, "cblas_dgemm", b.info.path);
  b.set_threads = symbol<void (*)(int)>(lib, "openblas_set_num_threads", b.info.path);
  b.get_threads = symbol<int (*)()>(lib, "openblas_get_num_threads", b.info.path);
  b.info.core = symbol<char* (*)()>(lib, "openblas_get_corename", b.info.path)();
  int parallel = symbol<int (*)()>(lib, "openblas_get_parallel", b.info.path)();
  b.info.threading = parallel == 2 ? "openmp" : parallel == 1 ? "pthread" : "serial";
  return b;
}

const Blas& blas() {
  static Blas b = load();  // thread-safe one-time initialization
  return b;
}

int to_int(int64_t v, const char* what) {
  if (v > 0x7fffffff) throw ShapeError(msg("gemm: ", what, " = ", v, " exceeds the 32-bit BLAS interface"));
  return static_cast<int>(v);
}

}  // namespace

const BlasInfo& blas_info() { return blas().info; }
int blas_threads() { return blas().get_threads(); }
void blas_set_threads(int n) { blas().set_threads(n); }
bool blas_shares_openmp_pool() { return blas().info.threading == "openmp"; }

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  blas().sgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, to_int(m, "m"), to_int(n, "n"),
               to_int(k, "k"), alpha, a, to_int(lda, "lda"), b, to_int(ldb, "ldb"), beta, c, to_int(ldc, "ldc"));
}

void dgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
           const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  blas().dgemm(kRowMajor, trans_a ? kTrans : kNoTrans, trans_b ? kTrans : kNoTrans, to_int(m, "m"), to_int(n, "n"),
               to_int(k, "k"), alpha, a, to_int(lda, "lda"), b, to_int(ldb, "ldb"), beta, c, to_int(ldc, "ldc"));
}

}  // namespace asyndgan::kern::cpu
