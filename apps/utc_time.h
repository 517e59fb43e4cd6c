// The wall clock as the run files write it: UTC, ISO 8601, to the millisecond ("2026-12-05T05:16:17.123Z").
#pragma once
#include <string>

namespace asyndgan::app {

std::string utc_time_now();

}  // namespace asyndgan::app
