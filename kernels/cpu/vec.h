// 64-byte vectors (GCC vector extension) for the CPU kernels whose multi-sum loops the compiler leaves scalar.
#pragma once
#include <cstring>

namespace asyndgan::kern::cpu {

template <class T> using Vec [[gnu::vector_size(64)]] = T;
template <class T> constexpr int lanes = 64 / sizeof(T);
// Unaligned load: the callers' rows start anywhere.
template <class T> Vec<T> load(const T* p) {
  Vec<T> v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace asyndgan::kern::cpu
