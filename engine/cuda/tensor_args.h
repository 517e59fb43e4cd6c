// How the CUDA adapters hand tensors to the kernels of kernels/cuda/: a data pointer (null for an undefined,
// optional tensor) and the RowIndex of an entry's "rows" argument.
#pragma once
#include <optional>
#include "engine/rows.h"
#include "engine/tensor.h"
#include "kernels/common/descriptors.h"

namespace asyndgan::backend {

inline const void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }
inline void* data_or_null(Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// The entries' "rows" arguments have rows (the engine checks); anything else is a ValueError naming `what`.
inline kern::RowIndex row_index(const Tensor& t, const char* what) {
  const std::optional<Rows> r = rows_of(t);
  if (!r) throw ValueError(msg(what, ": expected a tensor contiguous past dim 0, got ", t.describe()));
  return r->dense() ? kern::RowIndex{1, 1} : kern::RowIndex{r->inner, r->stride};
}

}  // namespace asyndgan::backend
