// Lanes<T>: a 64-byte vector of T with the arithmetic, comparisons and sqrt that the per-element functions of
// kernels/common/ use, so a CPU loop can run such a function on a whole vector of elements at once.
#pragma once
#include <cstring>
#ifdef __AVX512F__
#include <immintrin.h>
#endif
#include "kernels/cpu/vec.h"

namespace asyndgan::kern::cpu {

template <class T> struct Lanes {
#ifdef __AVX512F__
  static constexpr bool vectorized = true;  // the operations below need AVX-512; elsewhere callers stay scalar
#else
  static constexpr bool vectorized = false;
#endif
  static constexpr int size = lanes<T>;
  Vec<T> x;

  Lanes() = default;
  explicit Lanes(T s) : x(Vec<T>{} + s) {}  // broadcast
  // A factory, not a constructor: GCC would see Lanes(Vec<T>) and Lanes(T) as the same signature.
  static Lanes of(Vec<T> v) {
    Lanes l;
    l.x = v;
    return l;
  }
  // The first n < size elements, the other lanes zero / only the first n lanes written back.
  static Lanes load(const T* p, int64_t n = size) {
    Lanes l = of(Vec<T>{});
    std::memcpy(&l.x, p, static_cast<size_t>(n) * sizeof(T));
    return l;
  }
  void store(T* p, int64_t n = size) const { std::memcpy(p, &x, static_cast<size_t>(n) * sizeof(T)); }

#ifdef __AVX512F__
  // One IEEE operation per lane, never fused into an FMA (the explicit-rounding forms are opaque to the
  // compiler's contraction): the function's operations exactly as written, whatever the compiler would fuse in
  // the scalar code of this build.
  friend Lanes operator+(Lanes a, Lanes b) { return op<0>(a, b); }
  friend Lanes operator-(Lanes a, Lanes b) { return op<1>(a, b); }
  friend Lanes operator*(Lanes a, Lanes b) { return op<2>(a, b); }
  friend Lanes operator/(Lanes a, Lanes b) { return op<3>(a, b); }
  // Found by argument-dependent lookup, as std::sqrt is for T. Here and in op(), the zero-masked forms with every
  // lane selected: the plain ones start from an undefined register, which -Wmaybe-uninitialized reports.
  friend Lanes sqrt(Lanes a) {
    if constexpr (sizeof(T) == 4)
      return of(reinterpret_cast<Vec<T>>(_mm512_maskz_sqrt_ps(0xFFFF, reinterpret_cast<__m512>(a.x))));
    else
      return of(reinterpret_cast<Vec<T>>(_mm512_maskz_sqrt_pd(0xFF, reinterpret_cast<__m512d>(a.x))));
  }
#endif
  // Comparisons only ever test per-step scalars, broadcast to every lane: lane 0 answers for all of them.
  friend bool operator<(Lanes a, Lanes b) { return a.x[0] < b.x[0]; }
  friend bool operator!=(Lanes a, Lanes b) { return a.x[0] != b.x[0]; }

 private:
#ifdef __AVX512F__
  template <int Op> static Lanes op(Lanes a, Lanes b) {
    constexpr int r = _MM_FROUND_CUR_DIRECTION;
    if constexpr (sizeof(T) == 4) {
      const __m512 u = reinterpret_cast<__m512>(a.x), v = reinterpret_cast<__m512>(b.x);
      constexpr __mmask16 all = 0xFFFF;
      const __m512 o = Op == 0 ? _mm512_maskz_add_round_ps(all, u, v, r) : Op == 1 ? _mm512_maskz_sub_round_ps(all, u, v, r)
                       : Op == 2 ? _mm512_maskz_mul_round_ps(all, u, v, r) : _mm512_maskz_div_round_ps(all, u, v, r);
      return of(reinterpret_cast<Vec<T>>(o));
    } else {
      const __m512d u = reinterpret_cast<__m512d>(a.x), v = reinterpret_cast<__m512d>(b.x);
      constexpr __mmask8 all = 0xFF;
      const __m512d o = Op == 0 ? _mm512_maskz_add_round_pd(all, u, v, r) : Op == 1 ? _mm512_maskz_sub_round_pd(all, u, v, r)
                        : Op == 2 ? _mm512_maskz_mul_round_pd(all, u, v, r) : _mm512_maskz_div_round_pd(all, u, v, r);
      return of(reinterpret_cast<Vec<T>>(o));
    }
  }
#endif
};

}  // namespace asyndgan::kern::cpu
