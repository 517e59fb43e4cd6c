// The shard file format (writer, mmap reader and its validation). Layout, version 1, little-endian:
//   0   preamble, 64 bytes: "ASYNSHRD", u32 version, u32 flags (bit 0: images float32, else float16),
//       u64 header_bytes, u64 data_offset, u64 sample_stride, u64 num_samples, u64 file_size, u64 0
//   64  header: str site, i64 height, i64 width, u32 Cc, Cc x str, u32 Cm, Cm x str, u64 N,
//       N x (str subject, i32 slice, u8 split, u32 available); str = u32 length + bytes; zero padding
//   data_offset (a multiple of 64): N samples of sample_stride bytes, each the condition [Cc, H, W] as u8
//       round(255 v) padded to 64 bytes, then the image [Cm, H, W] as float16 or float32 padded to 64
//   file_size - 4: u32 CRC-32 of every byte before it
// Samples are written to an unlinked spool file first (the header, which lists them, must precede them
// and can only be written once all are known), then copied behind the header by the atomic writer.
#include "data/shard.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <atomic>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#if defined(__F16C__)
#include <immintrin.h>
#endif
#include "base/error.h"
#include "engine/io/checksum.h"
#include "engine/io/file_io.h"
#include "engine/io/names.h"
#include "base/half.h"

namespace asyndgan::data {

const char* split_name(Split s) {
  switch (s) {
    case Split::train: return "train";
    case Split::val: return "val";
    case Split::test: return "test";
  }
  return "unknown";
}

namespace {

constexpr char kMagic[8] = {'A', 'S', 'Y', 'N', 'S', 'H', 'R', 'D'};
constexpr uint64_t kPreambleBytes = 64, kAlign = 64, kCrcBytes = 4;
constexpr uint32_t kFlagImageF32 = 1u;
constexpr int64_t kMaxSide = 1 << 16, kMaxChannels = 4096;
constexpr size_t kMaxImageChannels = 32;  // `available` is a 32-bit mask

struct Preamble {
  char magic[8];
  uint32_t version, flags;
  uint64_t header_bytes, data_offset, sample_stride, num_samples, file_size, reserved;
};
static_assert(sizeof(Preamble) == kPreambleBytes);

uint64_t align_up(uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

struct Geometry {
  uint64_t plane = 0, condition_bytes = 0, image_bytes = 0, stride = 0;
};
Geometry geometry(const ShardHeader& h, ImageEncoding enc) {
  Geometry g;
  g.plane = static_cast<uint64_t>(h.height) * static_cast<uint64_t>(h.width);
  g.condition_bytes = align_up(g.plane * h.condition_channels.size());
  g.image_bytes = align_up(g.plane * h.image_channels.size() * (enc == ImageEncoding::f32 ? 4 : 2));
  g.stride = g.condition_bytes + g.image_bytes;
  return g;
}

std::string rerun_hint() { return "; re-run `asyndgan prepare` to rebuild the shard"; }

// ---- header bytes ----

template <class T>
void put(std::vector<char>& out, T v) {
  const char* p = reinterpret_cast<const char*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}
void put_str(std::vector<char>& out, const std::string& s) {
  put<uint32_t>(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

std::vector<char> encode_header(const ShardHeader& h) {
  std::vector<char> out;
  put_str(out, h.site);
  put<int64_t>(out, h.height);
  put<int64_t>(out, h.width);
  for (const auto* names : {&h.condition_channels, &h.image_channels}) {
    put<uint32_t>(out, static_cast<uint32_t>(names->size()));
    for (const auto& n : *names) put_str(out, n);
  }
  put<uint64_t>(out, h.samples.size());
  for (const auto& s : h.samples) {
    put_str(out, s.subject);
    put<int32_t>(out, s.slice);
    put<uint8_t>(out, static_cast<uint8_t>(s.split));
    put<uint32_t>(out, s.available);
  }
  return out;
}

// Reads the header from mapped bytes; every length is checked against what remains before it is used.
class Cursor {
 public:
  Cursor(const char* p, uint64_t n, const std::string& path) : p_(p), end_(p + n), path_(path) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }
  std::string str(const char* what) {
    const uint32_t n = get<uint32_t>(what);
    need(n, what);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  bool done() const { return p_ == end_; }
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(msg("shard '", path_, "': corrupt header: ", what, rerun_hint()));
  }
  // A shard written before names were checked: its names would become paths outside the output folder.
  [[noreturn]] void fail_name(const std::string& what) const {
    throw FormatError(msg("shard '", path_, "': ", what, ": subject ids and site names become file names, so they must be "
                          "plain names; rename it in the dataset and re-run `asyndgan prepare`"));
  }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > static_cast<uint64_t>(end_ - p_)) fail(msg(what, " runs past the header's end"));
  }
  const char* p_;
  const char* end_;
  const std::string& path_;
};

ShardHeader decode_header(Cursor& c, uint64_t expected_samples) {
  ShardHeader h;
  h.site = c.str("site name");
  if (const std::string bad = name_problem(h.site); !bad.empty())
    c.fail_name(msg("site name '", printable(h.site), "' ", bad));
  h.height = c.get<int64_t>("height");
  h.width = c.get<int64_t>("width");
  if (h.height < 1 || h.height > kMaxSide || h.width < 1 || h.width > kMaxSide)
    c.fail(msg("sample size ", h.height, "x", h.width, " is out of range"));
  for (auto* names : {&h.condition_channels, &h.image_channels}) {
    const uint32_t n = c.get<uint32_t>("channel count");
    if (n < 1 || n > kMaxChannels) c.fail(msg("channel count ", n, " is out of range"));
    for (uint32_t k = 0; k < n; ++k) names->push_back(c.str("channel name"));
  }
  if (h.image_channels.size() > kMaxImageChannels)
    c.fail(msg(h.image_channels.size(), " image channels; at most ", kMaxImageChannels, " are supported"));
  const uint64_t n = c.get<uint64_t>("sample count");
  if (n != expected_samples) c.fail(msg("sample count ", n, " differs from the preamble's ", expected_samples));
  h.samples.resize(n);  // bounded: the preamble's count was checked against the file size
  const uint32_t mask = h.image_channels.size() == 32 ? ~0u : (1u << h.image_channels.size()) - 1u;
  for (auto& s : h.samples) {
    s.subject = c.str("subject id");
    if (const std::string bad = name_problem(s.subject); !bad.empty())
      c.fail_name(msg("subject id '", printable(s.subject), "' ", bad));
    s.slice = c.get<int32_t>("slice index");
    const uint8_t split = c.get<uint8_t>("split");
    if (split > 2) c.fail(msg("split code ", int(split), " of subject '", s.subject, "' is not 0, 1 or 2"));
    s.split = static_cast<Split>(split);
    s.available = c.get<uint32_t>("availability mask");
    if (s.available & ~mask) c.fail(msg("availability mask of subject '", s.subject, "' names missing channels"));
  }
  if (!c.done()) c.fail("bytes left over after the last sample");
  return h;
}

// ---- the spool: an unlinked scratch file beside the target, so a crash leaves nothing behind ----

class Spool {
 public:
  explicit Spool(const std::string& target) : target_(target) {
    static std::atomic<uint64_t> counter{0};
    const std::string name = target + ".spool." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd_ = ::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0) throw IOError(msg("cannot create scratch file '", name, "' to write shard '", target, "': ", std::strerror(errno)));
    ::unlink(name.c_str());
  }
  ~Spool() { ::close(fd_); }
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  void write(const void* data, size_t n) {
    const char* p = static_cast<const char*>(data);
    while (n) {
      const ssize_t k = ::write(fd_, p, n);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) throw IOError(msg("writing shard '", target_, "' (scratch data): ", std::strerror(errno)));
      p += k;
      n -= static_cast<size_t>(k);
    }
  }
  // Streams everything written back out to `sink(data, n)`.
  template <class Sink>
  void replay(Sink&& sink) {
    if (::lseek(fd_, 0, SEEK_SET) != 0) throw IOError(msg("rewinding scratch data of shard '", target_, "': ", std::strerror(errno)));
    std::vector<char> buf(8 << 20);
    for (;;) {
      const ssize_t k = ::read(fd_, buf.data(), buf.size());
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) throw IOError(msg("reading scratch data of shard '", target_, "': ", std::strerror(errno)));
      if (k == 0) break;
      sink(buf.data(), static_cast<size_t>(k));
    }
  }

 private:
  std::string target_;
  int fd_ = -1;
};

}  // namespace

// ============================== writer ==============================

struct ShardWriter::Impl {
  std::string path;
  ShardHeader header;
  ImageEncoding encoding;
  Geometry geo;
  std::unique_ptr<Spool> spool;
  std::vector<char> record;  // one sample's bytes, padding included
  bool finished = false;
};

ShardWriter::ShardWriter(std::string path, ShardHeader header, ImageEncoding encoding) : impl_(std::make_unique<Impl>()) {
  auto bad = [&](const std::string& what) { throw ValueError(msg("ShardWriter '", path, "': ", what)); };
  if (!header.samples.empty()) bad("header.samples must be empty (add() fills it)");
  if (header.height < 1 || header.height > kMaxSide || header.width < 1 || header.width > kMaxSide)
    bad(msg("sample size ", header.height, "x", header.width, " must be within 1..", kMaxSide));
  if (header.condition_channels.empty() || header.condition_channels.size() > kMaxChannels) bad("needs 1 to 4096 condition channels");
  if (header.image_channels.empty() || header.image_channels.size() > kMaxImageChannels) bad("needs 1 to 32 image channels");
  if (encoding != ImageEncoding::f16 && encoding != ImageEncoding::f32) bad("unknown image encoding");
  if (const std::string problem = name_problem(header.site); !problem.empty())
    bad(msg("site name '", printable(header.site), "' ", problem, " (site names become file names: use a plain name)"));
  Impl& m = *impl_;
  m.path = std::move(path);
  m.header = std::move(header);
  m.encoding = encoding;
  m.geo = geometry(m.header, encoding);
  m.record.assign(m.geo.stride, 0);
  m.spool = std::make_unique<Spool>(m.path);
}

ShardWriter::~ShardWriter() = default;

void ShardWriter::add(const float* condition, const float* image, const SampleInfo& info) {
  Impl& m = *impl_;
  if (m.finished) throw ValueError(msg("ShardWriter '", m.path, "': add() after finish()"));
  const ShardHeader& h = m.header;
  const size_t sample = h.samples.size();
  auto bad = [&](const std::string& what) {
    throw ValueError(msg("ShardWriter '", m.path, "': sample ", sample, " (subject '", printable(info.subject), "', slice ",
                         info.slice, "): ", what));
  };
  if (static_cast<uint8_t>(info.split) > 2) bad("unknown split");
  if (const std::string problem = name_problem(info.subject); !problem.empty())
    bad(msg("the subject id ", problem, " (subject ids become file names: use a plain name)"));
  if (h.image_channels.size() < 32 && (info.available >> h.image_channels.size())) bad("availability mask names channels the shard does not have");
  const uint64_t nc = m.geo.plane * h.condition_channels.size(), ni = m.geo.plane * h.image_channels.size();
  // Range checks run branch-free over the whole sample (so they vectorize); the slow search for the first
  // offending element happens only when one exists, and names its channel, row and column.
  const auto check = [&](const float* v, uint64_t n, auto ok, const std::vector<std::string>& channels, const char* what,
                         const char* problem) {
    bool all = true;
    for (uint64_t k = 0; k < n; ++k) all &= ok(v[k]);
    if (all) return;
    uint64_t k = 0;
    while (ok(v[k])) ++k;
    const uint64_t c = k / m.geo.plane, p = k % m.geo.plane;
    bad(msg(what, " channel '", channels[c], "' value ", v[k], " at row ", p / static_cast<uint64_t>(h.width), ", column ",
            p % static_cast<uint64_t>(h.width), " ", std::isfinite(v[k]) ? problem : "is not finite"));
  };
  check(condition, nc, [](float v) { return v >= -1e-6f && v <= 1.0f + 1e-6f; }, h.condition_channels, "condition",
        "is outside [0, 1]");
  auto* cond = reinterpret_cast<uint8_t*>(m.record.data());
  for (uint64_t k = 0; k < nc; ++k)  // round to nearest: 0 and 1 are exact, others within 1/510
    cond[k] = static_cast<uint8_t>(std::clamp(condition[k], 0.0f, 1.0f) * 255.0f + 0.5f);
  char* img = m.record.data() + m.geo.condition_bytes;
  if (m.encoding == ImageEncoding::f32) {
    check(image, ni, [](float v) { return std::fabs(v) <= std::numeric_limits<float>::max(); }, h.image_channels, "image",
          "is not finite");
    std::memcpy(img, image, ni * 4);
  } else {
    check(image, ni, [](float v) { return std::fabs(v) <= 65504.0f; }, h.image_channels, "image",
          "exceeds float16's range (write with ImageEncoding::f32)");
    auto* half = reinterpret_cast<uint16_t*>(img);
    uint64_t k = 0;
#if defined(__F16C__)  // the same round-to-nearest-even as float_to_f16, eight at a time
    for (; k + 8 <= ni; k += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(half + k), _mm256_cvtps_ph(_mm256_loadu_ps(image + k), _MM_FROUND_TO_NEAREST_INT));
#endif
    for (; k < ni; ++k) half[k] = float_to_f16(image[k]);
  }
  m.spool->write(m.record.data(), m.record.size());
  m.header.samples.push_back(info);
}

void ShardWriter::finish() {
  Impl& m = *impl_;
  if (m.finished) throw ValueError(msg("ShardWriter '", m.path, "': finish() called twice"));
  m.finished = true;
  const std::vector<char> header = encode_header(m.header);
  Preamble p{};
  std::memcpy(p.magic, kMagic, 8);
  p.version = kShardVersion;
  p.flags = m.encoding == ImageEncoding::f32 ? kFlagImageF32 : 0u;
  p.header_bytes = header.size();
  p.data_offset = align_up(kPreambleBytes + header.size());
  p.sample_stride = m.geo.stride;
  p.num_samples = m.header.samples.size();
  p.file_size = p.data_offset + p.num_samples * p.sample_stride + kCrcBytes;

  AtomicFileWriter out(m.path);
  uint32_t crc = 0;
  auto emit = [&](const void* data, size_t n) {
    crc = crc32_update(crc, data, n);
    out.write(data, n);
  };
  emit(&p, sizeof p);
  emit(header.data(), header.size());
  const std::vector<char> pad(p.data_offset - kPreambleBytes - header.size(), 0);
  emit(pad.data(), pad.size());
  m.spool->replay(emit);
  out.write(&crc, sizeof crc);
  out.commit();
  m.spool.reset();
}

// ============================== reader ==============================

struct Shard::Impl {
  std::string path;
  ShardHeader header;
  ImageEncoding encoding = ImageEncoding::f16;
  Geometry geo;
  const char* base = nullptr;  // the mapping
  uint64_t size = 0;
  uint64_t data_offset = 0;
  ~Impl() {
    if (base) ::munmap(const_cast<char*>(base), size);
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(msg("shard '", path, "': ", what, rerun_hint()));
  }
  const char* sample(int64_t i) const { return base + data_offset + static_cast<uint64_t>(i) * geo.stride; }
};

namespace {

// Index of the first element of `v[0, n)` whose exponent bits are all ones (NaN or Inf), or n. A branch-free
// pass first, so a clean sample (every sample of a shard this version wrote) costs one vectorized scan.
template <class U>
uint64_t first_non_finite(const U* v, uint64_t n, U exponent) {
  U any = 0;
  for (uint64_t k = 0; k < n; ++k) any |= static_cast<U>((v[k] & exponent) == exponent);
  if (!any) return n;
  uint64_t k = 0;
  while ((v[k] & exponent) != exponent) ++k;
  return k;
}

}  // namespace

// Shards written before the writer refused non-finite images, or forged ones with a valid checksum, would
// otherwise train on NaN and fail far from the cause.
void Shard::check_finite(const Impl& m) {
  const ShardHeader& h = m.header;
  const uint64_t n = m.geo.plane * h.image_channels.size();
  for (size_t i = 0; i < h.samples.size(); ++i) {
    const char* img = m.sample(static_cast<int64_t>(i)) + m.geo.condition_bytes;
    uint64_t k = n;
    float value = 0;
    if (m.encoding == ImageEncoding::f32) {
      const auto* bits = reinterpret_cast<const uint32_t*>(img);  // 64-byte aligned, as every sample's image
      k = first_non_finite<uint32_t>(bits, n, 0x7F800000u);
      if (k < n) std::memcpy(&value, bits + k, 4);
    } else {
      const auto* half = reinterpret_cast<const uint16_t*>(img);
      k = first_non_finite<uint16_t>(half, n, 0x7C00u);
      if (k < n) value = f16_to_float(half[k]);
    }
    if (k == n) continue;
    const uint64_t c = k / m.geo.plane, px = k % m.geo.plane, w = static_cast<uint64_t>(h.width);
    m.fail(msg("sample ", i, " (subject '", h.samples[i].subject, "', slice ", h.samples[i].slice, "): image channel '",
               h.image_channels[c], "' holds ", std::isnan(value) ? "NaN" : value > 0 ? "+Inf" : "-Inf", " at row ", px / w,
               ", column ", px % w, ": training needs finite values"));
  }
}

std::shared_ptr<Shard> Shard::open(const std::string& path, bool verify_checksum) {
  std::shared_ptr<Shard> shard(new Shard());
  shard->impl_ = std::make_unique<Impl>();
  Impl& m = *shard->impl_;
  m.path = path;

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IOError(msg("cannot open shard '", path, "': ", std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    throw IOError(msg("cannot stat shard '", path, "': ", std::strerror(e)));
  }
  m.size = static_cast<uint64_t>(st.st_size);
  if (m.size < sizeof kMagic) {
    ::close(fd);
    m.fail(msg("the file has only ", m.size, " bytes, too few for a shard (truncated?)"));
  }
  void* map = ::mmap(nullptr, m.size, PROT_READ, MAP_SHARED, fd, 0);
  const int map_errno = errno;
  ::close(fd);  // the mapping keeps the file open
  if (map == MAP_FAILED) throw IOError(msg("cannot memory-map shard '", path, "': ", std::strerror(map_errno)));
  m.base = static_cast<const char*>(map);

  if (std::memcmp(m.base, kMagic, 8) != 0) m.fail("not an asyndgan shard (its first bytes are not \"ASYNSHRD\")");
  if (m.size < kPreambleBytes + kCrcBytes) m.fail(msg("truncated: ", m.size, " bytes, less than the 68 of an empty shard"));
  Preamble p;
  std::memcpy(&p, m.base, sizeof p);
  if (p.version > kShardVersion)
    throw FormatError(msg("shard '", path, "' has format version ", p.version, " but this asyndgan reads versions up to ",
                          kShardVersion, ": upgrade asyndgan, or re-run `asyndgan prepare` with this version to rewrite it"));
  if (p.version == 0) m.fail("format version 0 is invalid");
  if (p.file_size != m.size)
    m.fail(p.file_size > m.size ? msg("truncated: the header says ", p.file_size, " bytes, the file has ", m.size)
                                : msg("the header says ", p.file_size, " bytes but the file has ", m.size, " (trailing data)"));
  if (verify_checksum) {
    ::madvise(const_cast<char*>(m.base), m.size, MADV_SEQUENTIAL);
    uint32_t stored;
    std::memcpy(&stored, m.base + m.size - kCrcBytes, kCrcBytes);
    const uint32_t actual = crc32(m.base, m.size - kCrcBytes);
    if (actual != stored) m.fail(msg("checksum mismatch (stored ", stored, ", computed ", actual, "): the file is corrupt"));
  }
  // Samples are read whole but in random order: the default readahead around each fault suits that.
  ::madvise(const_cast<char*>(m.base), m.size, MADV_NORMAL);

  if (p.flags & ~kFlagImageF32) m.fail(msg("unknown flags 0x", std::hex, p.flags));
  m.encoding = (p.flags & kFlagImageF32) ? ImageEncoding::f32 : ImageEncoding::f16;
  const uint64_t room = m.size - kPreambleBytes - kCrcBytes;
  if (p.header_bytes > room || p.data_offset != align_up(kPreambleBytes + p.header_bytes) || p.data_offset > m.size - kCrcBytes)
    m.fail(msg("header size ", p.header_bytes, " / data offset ", p.data_offset, " do not fit a file of ", m.size, " bytes"));
  const uint64_t data_bytes = m.size - kCrcBytes - p.data_offset;
  if (p.sample_stride == 0 || data_bytes % p.sample_stride || data_bytes / p.sample_stride != p.num_samples)
    m.fail(msg(p.num_samples, " samples of ", p.sample_stride, " bytes do not fill the ", data_bytes, " data bytes"));
  Cursor cursor(m.base + kPreambleBytes, p.header_bytes, m.path);
  m.header = decode_header(cursor, p.num_samples);
  m.geo = geometry(m.header, m.encoding);
  if (m.geo.stride != p.sample_stride)
    m.fail(msg("sample stride ", p.sample_stride, " does not match ", m.header.height, "x", m.header.width, " samples of ",
               m.header.condition_channels.size(), "+", m.header.image_channels.size(), " channels (", m.geo.stride, ")"));
  m.data_offset = p.data_offset;
  if (verify_checksum) check_finite(m);
  return shard;
}

Shard::~Shard() = default;
const ShardHeader& Shard::header() const { return impl_->header; }
int64_t Shard::size() const { return static_cast<int64_t>(impl_->header.samples.size()); }
const std::string& Shard::path() const { return impl_->path; }
ImageEncoding Shard::image_encoding() const { return impl_->encoding; }

namespace {

// Resolves a window's defaults and checks it against the sample size.
Shard::Window resolve(const Shard::Window& w, int64_t height, int64_t width, const std::string& path) {
  Shard::Window r = w;
  if (r.height == 0) r.height = height;
  if (r.width == 0) r.width = width;
  if (r.top < 0 || r.left < 0 || r.height < 1 || r.width < 1 || r.top + r.height > height || r.left + r.width > width)
    throw ValueError(msg("shard '", path, "': window ", r.height, "x", r.width, " at (", r.top, ", ", r.left,
                         ") does not fit its ", height, "x", width, " samples"));
  return r;
}

void decode_u8_row(const uint8_t* src, int64_t n, float* out) {
  for (int64_t x = 0; x < n; ++x) out[x] = static_cast<float>(src[x]) / 255.0f;  // exact at 0 and 255
}

void decode_f16_row(const uint16_t* src, int64_t n, float* out) {
  int64_t x = 0;
#if defined(__F16C__)
  for (; x + 8 <= n; x += 8)
    _mm256_storeu_ps(out + x, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + x))));
#endif
  for (; x < n; ++x) out[x] = f16_to_float(src[x]);  // both paths are exact, so results agree
}

}  // namespace

void Shard::read_condition_plane(int64_t i, int64_t channel, const Window& win, float* out) const {
  const Impl& m = *impl_;
  const ShardHeader& h = m.header;
  if (i < 0 || i >= size() || channel < 0 || channel >= static_cast<int64_t>(h.condition_channels.size()))
    throw ValueError(msg("shard '", m.path, "': condition channel ", channel, " of sample ", i, " does not exist (",
                         size(), " samples, ", h.condition_channels.size(), " channels)"));
  const Window w = resolve(win, h.height, h.width, m.path);
  const auto* plane = reinterpret_cast<const uint8_t*>(m.sample(i)) + static_cast<uint64_t>(channel) * m.geo.plane;
  for (int64_t r = 0; r < w.height; ++r) {
    float* row = out + r * w.width;
    decode_u8_row(plane + (w.top + r) * h.width + w.left, w.width, row);
    if (w.flip) std::reverse(row, row + w.width);
  }
}

void Shard::read_image_plane(int64_t i, int64_t channel, const Window& win, float* out) const {
  const Impl& m = *impl_;
  const ShardHeader& h = m.header;
  if (i < 0 || i >= size() || channel < 0 || channel >= static_cast<int64_t>(h.image_channels.size()))
    throw ValueError(msg("shard '", m.path, "': image channel ", channel, " of sample ", i, " does not exist (",
                         size(), " samples, ", h.image_channels.size(), " channels)"));
  const Window w = resolve(win, h.height, h.width, m.path);
  const char* plane = m.sample(i) + m.geo.condition_bytes;
  for (int64_t r = 0; r < w.height; ++r) {
    float* row = out + r * w.width;
    const uint64_t first = static_cast<uint64_t>(channel) * m.geo.plane + static_cast<uint64_t>((w.top + r) * h.width + w.left);
    if (m.encoding == ImageEncoding::f32)
      std::memcpy(row, reinterpret_cast<const float*>(plane) + first, static_cast<size_t>(w.width) * 4);
    else
      decode_f16_row(reinterpret_cast<const uint16_t*>(plane) + first, w.width, row);
    if (w.flip) std::reverse(row, row + w.width);
  }
}

void Shard::read_condition(int64_t i, float* out) const {
  const auto plane = static_cast<int64_t>(impl_->geo.plane);
  for (int64_t c = 0; c < static_cast<int64_t>(header().condition_channels.size()); ++c) read_condition_plane(i, c, Window{}, out + c * plane);
}

void Shard::read_image(int64_t i, float* out) const {
  const auto plane = static_cast<int64_t>(impl_->geo.plane);
  for (int64_t c = 0; c < static_cast<int64_t>(header().image_channels.size()); ++c) read_image_plane(i, c, Window{}, out + c * plane);
}

}  // namespace asyndgan::data
