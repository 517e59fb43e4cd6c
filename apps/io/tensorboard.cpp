// Event protobuf fields used (tensorflow/core/util/event.proto, summary.proto): Event{wall_time=1
// double, step=2 int64, file_version=3 string, summary=5 Summary}, Summary{value=1 repeated Value},
// Summary.Value{tag=1 string, simple_value=2 float}. Records: u64 length, masked CRC-32C of the
// length, data, masked CRC-32C of the data, all little-endian.
#include "apps/io/tensorboard.h"
#include <unistd.h>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include "base/error.h"
#include "engine/io/crc32c.h"
#include "engine/io/file_io.h"

namespace asyndgan {
namespace {

static_assert(std::endian::native == std::endian::little, "TFRecord framing is little-endian; add byte swaps");

constexpr const char* kFileVersion = "brain.Event:2";

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
void put_tag(std::string& out, int field, int wire) { put_varint(out, static_cast<uint64_t>(field) << 3 | wire); }
template <class T> void put_fixed(std::string& out, int field, T v) {
  put_tag(out, field, sizeof(T) == 8 ? 1 : 5);
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_fixed(e, 1, wall_time);
  put_tag(e, 2, 0);
  put_varint(e, static_cast<uint64_t>(step));
  return e;
}

// A protobuf cursor over one record; every overrun is reported through `fail`.
struct Cursor {
  const unsigned char* p;
  const unsigned char* end;
  const FileReader& file;
  uint64_t offset;

  [[noreturn]] void fail(const std::string& what) const { file.fail(msg("record at byte ", offset, ": ", what)); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) fail("truncated varint");
      const unsigned char b = *p++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }
  template <class T> T fixed() {
    if (static_cast<size_t>(end - p) < sizeof(T)) fail("truncated fixed-width field");
    T v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  Cursor sub() {
    const uint64_t n = varint();
    if (n > static_cast<uint64_t>(end - p)) fail("length-delimited field longer than its message");
    Cursor c{p, p + n, file, offset};
    p += n;
    return c;
  }
  void skip(int wire) {
    if (wire == 0) varint();
    else if (wire == 1) fixed<uint64_t>();
    else if (wire == 5) fixed<uint32_t>();
    else if (wire == 2) sub();
    else fail(msg("unsupported protobuf wire type ", wire));
  }
};

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir) {
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  if (ec) throw IOError(msg("cannot create the TensorBoard log directory '", log_dir, "': ", ec.message()));
  char host[256] = "localhost";
  ::gethostname(host, sizeof host - 1);
  const double wall = now_seconds();
  const std::string base = (std::filesystem::path(log_dir) / "events.out.tfevents.").string() +
                           std::to_string(static_cast<int64_t>(wall)) + "." + host;
  for (int n = 0; !file_; ++n) {
    path_ = n == 0 ? base : base + "." + std::to_string(n);
    file_ = std::fopen(path_.c_str(), "wbx");  // exclusive: never append to another run's file
    if (!file_ && (errno != EEXIST || n > 1000))
      throw IOError(msg("cannot create the TensorBoard event file '", path_, "': ", std::strerror(errno)));
  }
  std::string e = event_header(wall, 0);
  put_bytes(e, 3, kFileVersion);
  write_record(e);
}

TensorBoardWriter::~TensorBoardWriter() {
  if (file_) std::fclose(file_);
}

void TensorBoardWriter::write_record(const std::string& event) {
  const uint64_t len = event.size();
  const uint32_t len_crc = masked_crc32c(&len, sizeof len), data_crc = masked_crc32c(event.data(), event.size());
  std::string rec;
  rec.append(reinterpret_cast<const char*>(&len), sizeof len);
  rec.append(reinterpret_cast<const char*>(&len_crc), sizeof len_crc);
  rec += event;
  rec.append(reinterpret_cast<const char*>(&data_crc), sizeof data_crc);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size() || std::fflush(file_) != 0)
    throw IOError(msg("writing the TensorBoard event file '", path_, "' failed: ", std::strerror(errno)));
}

void TensorBoardWriter::write_scalars(int64_t step, const std::vector<std::pair<std::string, float>>& scalars) {
  std::string summary;
  for (const auto& [tag, value] : scalars) {
    std::string v;
    put_bytes(v, 1, tag);
    put_fixed(v, 2, value);
    put_bytes(summary, 1, v);
  }
  std::string e = event_header(now_seconds(), step);
  put_bytes(e, 5, summary);
  write_record(e);
}

std::vector<TensorBoardScalar> read_tensorboard_scalars(const std::string& path) {
  FileReader file(path);
  std::vector<TensorBoardScalar> out;
  std::vector<unsigned char> data;
  if (file.size() == 0) file.fail("empty; an event file starts with the version event");
  for (bool first = true; file.remaining() > 0; first = false) {
    const uint64_t offset = file.position();
    const uint64_t len = file.read_le<uint64_t>("record length");
    if (file.read_le<uint32_t>("length CRC") != masked_crc32c(&len, sizeof len))
      file.fail(msg("record at byte ", offset, ": the length's CRC-32C does not match"));
    file.require(len + 4, msg("record at byte ", offset, " (", len, " bytes)"));
    data.resize(len);
    file.read(data.data(), len, "record data");
    if (file.read_le<uint32_t>("data CRC") != masked_crc32c(data.data(), len))
      file.fail(msg("record at byte ", offset, ": the data's CRC-32C does not match"));
    Cursor c{data.data(), data.data() + len, file, offset};
    double wall = 0;
    int64_t step = 0;
    std::string version;
    const size_t before = out.size();
    while (c.p != c.end) {
      const uint64_t key = c.varint();
      const int field = static_cast<int>(key >> 3), wire = static_cast<int>(key & 7);
      if (field == 1 && wire == 1) {
        wall = c.fixed<double>();
      } else if (field == 2 && wire == 0) {
        step = static_cast<int64_t>(c.varint());
      } else if (field == 3 && wire == 2) {
        Cursor s = c.sub();
        version.assign(s.p, s.end);
      } else if (field == 5 && wire == 2) {
        Cursor summary = c.sub();
        while (summary.p != summary.end) {
          const uint64_t k = summary.varint();
          if (k != (1 << 3 | 2)) {
            summary.skip(static_cast<int>(k & 7));
            continue;
          }
          Cursor value = summary.sub();
          TensorBoardScalar s;
          bool has_value = false;
          while (value.p != value.end) {
            const uint64_t vk = value.varint();
            if (vk == (1 << 3 | 2)) {
              Cursor t = value.sub();
              s.tag.assign(t.p, t.end);
            } else if (vk == (2 << 3 | 5)) {
              s.value = value.fixed<float>();
              has_value = true;
            } else {
              value.skip(static_cast<int>(vk & 7));
            }
          }
          if (has_value) out.push_back(std::move(s));
        }
      } else {
        c.skip(wire);
      }
    }
    for (size_t i = before; i < out.size(); ++i) out[i].step = step, out[i].wall_time = wall;
    if (first && version != kFileVersion)
      file.fail(msg("the first record is not the '", kFileVersion, "' version event"));
  }
  return out;
}

}  // namespace asyndgan
