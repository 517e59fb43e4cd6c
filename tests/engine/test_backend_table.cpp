// The CUDA kernel table: a CUDA build fills every entry (registration needs no GPU, so this runs here); a
// CPU-only build leaves it empty and an op on a cuda tensor names itself in the error.
#include <doctest/doctest.h>
#include <cstdint>
#include <cstring>
#include "engine/backend.h"

using namespace asyndgan;

TEST_CASE("backend: a CUDA build registers every kernel table entry, a CPU-only build says CUDA is absent") {
  // The table holds only function pointers, all of one size: read them as words to find the unset ones.
  static_assert(sizeof(backend::CudaKernels) % sizeof(void (*)()) == 0);
  constexpr size_t entries = sizeof(backend::CudaKernels) / sizeof(void (*)());
  const backend::CudaKernels& table = backend::cuda_table();
  uintptr_t words[entries];
  std::memcpy(words, &table, sizeof(words));
  size_t unset = 0;
  for (uintptr_t w : words) unset += w == 0;
  if (ASYNDGAN_HAS_CUDA && ASYNDGAN_HAS_CUDNN) {
    CHECK(static_cast<bool>(backend::cuda("test").fill));
    CHECK_MESSAGE(unset == 0, unset, " of ", entries, " CUDA kernel table entries are not registered");
  } else if (!ASYNDGAN_HAS_CUDA) {
    CHECK(unset == entries);
    CHECK_THROWS_WITH_AS(backend::cuda("relu"), doctest::Contains("relu: this build of asyndgan has no CUDA backend"),
                         DeviceError);
  }
}
