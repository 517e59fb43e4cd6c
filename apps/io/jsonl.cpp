// JSON-lines writer and reader over stdio; the torn-tail repair uses POSIX truncate.
#include "apps/io/jsonl.h"
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include "base/error.h"
#include "engine/io/file_io.h"

namespace asyndgan {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError(msg("cannot read '", path, "': ", std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

JsonlWriter::JsonlWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path_.c_str(), "ab+");
  if (!file_) throw IOError(msg("cannot open '", path_, "' for appending: ", std::strerror(errno)));
  // Find the end of the last complete line, reading backwards from the end in blocks.
  std::fseek(file_, 0, SEEK_END);
  const long size = std::ftell(file_);
  long keep = 0;
  char buf[4096];
  for (long end = size; end > 0 && keep == 0;) {
    const long start = end > static_cast<long>(sizeof buf) ? end - static_cast<long>(sizeof buf) : 0;
    std::fseek(file_, start, SEEK_SET);
    const size_t n = std::fread(buf, 1, static_cast<size_t>(end - start), file_);
    for (size_t i = n; i-- > 0;)
      if (buf[i] == '\n') {
        keep = start + static_cast<long>(i) + 1;
        break;
      }
    end = start;
  }
  if (keep != size && ::ftruncate(::fileno(file_), keep) != 0) {
    const std::string why = std::strerror(errno);
    std::fclose(file_);
    file_ = nullptr;
    throw IOError(msg("cannot cut the torn last line of '", path_, "': ", why));
  }
  std::fseek(file_, 0, SEEK_END);
}

JsonlWriter::~JsonlWriter() {
  if (file_) std::fclose(file_);
}

void JsonlWriter::write(const Json& record) {
  const std::string line = dump_json(record) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw IOError(msg("appending to '", path_, "' failed: ", std::strerror(errno)));
}

JsonlContents read_jsonl(const std::string& path) {
  const std::string text = read_all(path);
  JsonlContents out;
  size_t start = 0;
  for (int line = 1; start < text.size(); ++line) {
    const size_t nl = text.find('\n', start);
    if (nl == std::string::npos) {
      out.torn_tail = true;
      break;
    }
    out.records.push_back(parse_json(std::string_view(text).substr(start, nl - start), msg(path, ":", line)));
    start = nl + 1;
  }
  return out;
}

size_t filter_jsonl(const std::string& path, const std::function<bool(const Json&)>& keep) {
  const JsonlContents contents = read_jsonl(path);
  AtomicFileWriter out(path);
  size_t kept = 0;
  for (const Json& r : contents.records) {
    if (!keep(r)) continue;
    const std::string line = dump_json(r) + "\n";
    out.write(line.data(), line.size());
    ++kept;
  }
  out.commit();
  return kept;
}

}  // namespace asyndgan
