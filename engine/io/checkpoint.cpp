// Checkpoint writer and validating reader.
#include "engine/io/checkpoint.h"
#include <cstring>
#include <limits>
#include "engine/io/checksum.h"
#include "engine/io/file_io.h"

namespace asyndgan {
namespace {

constexpr char kMagic[8] = {'A', 'S', 'Y', 'N', 'D', 'G', 'A', 'N'};
constexpr uint8_t kMaxDTypeCode = static_cast<uint8_t>(DType::i64);
static_assert(static_cast<int>(DType::f32) == 0 && static_cast<int>(DType::i64) == 6,
              "DType values are the on-disk dtype codes; renumbering them breaks existing checkpoints");

// Feeds the atomic writer and the running checksum together.
class ChecksummedWriter {
 public:
  explicit ChecksummedWriter(AtomicFileWriter& out) : out_(out) {}
  void bytes(const void* p, size_t n) {
    out_.write(p, n);
    crc_ = crc32_update(crc_, p, n);
  }
  template <class T> void le(T v) { bytes(&v, sizeof v); }
  void str32(const std::string& s) {
    le<uint32_t>(static_cast<uint32_t>(s.size()));
    bytes(s.data(), s.size());
  }
  uint32_t crc() const { return crc_; }

 private:
  AtomicFileWriter& out_;
  uint32_t crc_ = 0;
};

std::string read_string(FileReader& in, uint64_t length, const std::string& what) {
  in.require(length, what);  // before allocating: a corrupt length must not reserve gigabytes
  std::string s(static_cast<size_t>(length), '\0');
  in.read(s.data(), length, what);
  return s;
}

Tensor read_tensor(FileReader& in, const std::string& name) {
  const std::string what = "tensor '" + name + "'";
  const uint8_t code = in.read_le<uint8_t>(what + " dtype");
  if (code > kMaxDTypeCode)
    in.fail(msg(what, " has unknown dtype code ", int(code), " (this build knows 0..", int(kMaxDTypeCode),
                "); the file is corrupt or from a newer asyndgan"));
  const DType dtype = static_cast<DType>(code);
  const uint32_t ndim = in.read_le<uint32_t>(what + " ndim");
  in.require(uint64_t{ndim} * 8, what + " shape");
  Shape shape(ndim);
  uint64_t numel = 1;
  for (uint32_t d = 0; d < ndim; ++d) {
    shape[d] = in.read_le<int64_t>(what + " shape");
    if (shape[d] < 0) in.fail(msg(what, " has a negative dimension in shape ", shape_str(shape), "; the file is corrupt"));
    const uint64_t s = static_cast<uint64_t>(shape[d]);
    if (s != 0 && numel > std::numeric_limits<uint64_t>::max() / 8 / s)
      in.fail(msg(what, " has an impossibly large shape ", shape_str(shape), "; the file is corrupt"));
    numel *= s;
  }
  const uint64_t nbytes = in.read_le<uint64_t>(what + " byte length");
  if (nbytes != numel * dtype_size(dtype))
    in.fail(msg(what, " declares ", nbytes, " bytes but ", dtype_name(dtype), shape_str(shape), " needs ",
                numel * dtype_size(dtype), "; the file is corrupt"));
  in.require(nbytes, what + " data");
  Tensor t = Tensor::empty(shape, dtype);
  in.read(t.raw_data(), nbytes, what + " data");
  return t;
}

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& ckpt) {
  for (const auto& [name, t] : ckpt.tensors)
    if (!t.defined()) throw ValueError(msg("save_checkpoint '", path, "': tensor '", name, "' is undefined"));
  AtomicFileWriter file(path);
  ChecksummedWriter out(file);
  out.bytes(kMagic, sizeof kMagic);
  out.le<uint32_t>(kCheckpointVersion);
  out.le<uint32_t>(0);  // flags, reserved
  out.le<uint64_t>(ckpt.tensors.size());
  out.le<uint64_t>(ckpt.meta.size());
  for (const auto& [name, t] : ckpt.tensors) {
    const Tensor host = t.detach().to(Device::cpu()).contiguous();
    out.str32(name);
    out.le<uint8_t>(static_cast<uint8_t>(host.dtype()));
    out.le<uint32_t>(static_cast<uint32_t>(host.dim()));
    for (int64_t s : host.shape()) out.le<int64_t>(s);
    out.le<uint64_t>(host.nbytes());
    out.bytes(host.raw_data(), host.nbytes());
  }
  for (const auto& [key, value] : ckpt.meta) {
    out.str32(key);
    out.le<uint64_t>(value.size());
    out.bytes(value.data(), value.size());
  }
  const uint32_t crc = out.crc();
  file.write(&crc, sizeof crc);
  file.commit();
}

Checkpoint load_checkpoint(const std::string& path) {
  FileReader in(path);
  char magic[sizeof kMagic];
  in.read(magic, sizeof magic, "the magic number");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    in.fail("not an asyndgan checkpoint (the first 8 bytes are not \"ASYNDGAN\"); is it a safetensors or PyTorch file?");
  const uint32_t version = in.read_le<uint32_t>("the format version");
  if (version > kCheckpointVersion)
    in.fail(msg("checkpoint format version ", version, " was written by a newer asyndgan; this build reads up to version ",
                kCheckpointVersion, ": upgrade asyndgan to load it"));
  if (version == 0) in.fail("checkpoint format version 0 is invalid; the file is corrupt");
  const uint32_t flags = in.read_le<uint32_t>("the flags");
  if (flags != 0) in.fail(msg("unknown flags 0x", std::hex, flags, " in the header; the file is corrupt or from a newer asyndgan"));
  const uint64_t n_tensors = in.read_le<uint64_t>("the tensor count");
  const uint64_t n_meta = in.read_le<uint64_t>("the metadata count");

  Checkpoint ckpt;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const uint32_t len = in.read_le<uint32_t>(msg("tensor #", i, " name length"));
    std::string name = read_string(in, len, msg("tensor #", i, " name"));
    Tensor t = read_tensor(in, name);
    if (!ckpt.tensors.emplace(name, std::move(t)).second) in.fail(msg("tensor '", name, "' appears twice; the file is corrupt"));
  }
  for (uint64_t i = 0; i < n_meta; ++i) {
    const uint32_t klen = in.read_le<uint32_t>(msg("metadata #", i, " key length"));
    std::string key = read_string(in, klen, msg("metadata #", i, " key"));
    const uint64_t vlen = in.read_le<uint64_t>(msg("metadata '", key, "' value length"));
    std::string value = read_string(in, vlen, msg("metadata '", key, "' value"));
    if (!ckpt.meta.emplace(key, std::move(value)).second) in.fail(msg("metadata '", key, "' appears twice; the file is corrupt"));
  }
  const uint32_t computed = in.crc();
  const uint32_t stored = in.read_le<uint32_t>("the checksum");
  if (stored != computed)
    in.fail(msg("checksum mismatch (stored 0x", std::hex, stored, ", computed 0x", computed, std::dec,
                "): the file is corrupt (disk or transfer error); use an earlier checkpoint"));
  if (in.remaining() != 0)
    in.fail(msg(in.remaining(), " unexpected bytes after the checksum; the file is corrupt or was appended to"));
  return ckpt;
}

}  // namespace asyndgan
