// A run's metrics.jsonl with the wall-clock fields removed: what a resumed run, or the same run deployed as
// processes, must reproduce exactly.
#pragma once
#include <string>
#include <vector>
#include "apps/io/jsonl.h"

namespace asyndgan::test {

inline std::vector<std::string> losses(const std::string& path) {
  std::vector<std::string> out;
  for (const Json& r : read_jsonl(path).records) {
    Json o = r;
    o.erase("seconds");
    o.erase("images_per_s");
    out.push_back(dump_json(o));
  }
  return out;
}

}  // namespace asyndgan::test
