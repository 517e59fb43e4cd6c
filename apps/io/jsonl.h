// Append-only JSON-lines files for per-iteration metrics: one object per line, flushed per record, so a
// crash costs at most a torn last line, which the reader skips and the next writer cuts off.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <vector>
#include "engine/io/json.h"

namespace asyndgan {

class JsonlWriter {
 public:
  // Opens `path` for appending, creating it. A last line without its newline (a crash mid-write) is cut
  // off first, so the next record starts a line of its own. IOError naming the file on failure.
  explicit JsonlWriter(const std::string& path);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // One line, flushed to the OS before returning. IOError on a failed write, ValueError for NaN/inf.
  void write(const Json& record);
  const std::string& path() const { return path_; }

 private:
  std::FILE* file_ = nullptr;
  std::string path_;
};

struct JsonlContents {
  std::vector<Json> records;  // every newline-terminated line, in order
  bool torn_tail = false;     // the file ended in a line without its newline (not in `records`)
};

// A line that is not JSON anywhere but in the torn tail is a FormatError "<path>:<line>: ...".
JsonlContents read_jsonl(const std::string& path);

// Rewrites `path` atomically with only the records keep() accepts (and without a torn tail); returns
// how many were kept. For --resume: drop the lines logged after the checkpoint being resumed.
size_t filter_jsonl(const std::string& path, const std::function<bool(const Json&)>& keep);

}  // namespace asyndgan
