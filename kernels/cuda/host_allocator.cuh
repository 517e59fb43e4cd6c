// Page-locked host memory behind cuda_rt::host_pinned_malloc/free: base/block_cache.h's policy over
// cudaHostAlloc/cudaFreeHost, with each freed block held back until the copies queued before its free are done.
#pragma once
#include <cstddef>
#include "base/cuda_runtime.h"

namespace asyndgan::kern::cuda {

void* pinned_malloc(size_t nbytes);  // DeviceError when the driver has no page-locked memory left
void pinned_free(void* ptr);         // never throws: it runs in Storage's destructor
cuda_rt::HostPinnedStats pinned_stats();

}  // namespace asyndgan::kern::cuda
