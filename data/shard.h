// Training shards: one file per site holding its prepared 2-D samples (condition maps and modality images
// of one size), a header describing them, and a checksum; opened by memory-mapping, never parsed per sample.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace asyndgan::data {

enum class Split : uint8_t { train = 0, val = 1, test = 2 };
const char* split_name(Split s);

struct SampleInfo {
  std::string subject;      // subject id (patient data stays at the site: these ids never leave it)
  int32_t slice = 0;        // axial slice index in the source volume
  Split split = Split::train;
  uint32_t available = 0;   // bit m set when image channel m is real (missing modalities are zero-filled)
};

// The format version this build writes and the newest it reads (data/shard.cpp documents the layout).
constexpr uint32_t kShardVersion = 1;

// How image channels are stored. float16 halves the file and keeps ~3.3 significant digits (absolute error
// <= 2^-12 on [-1, 1], relative <= 2^-11 for z-scores up to 65504); float32 stores them exactly.
enum class ImageEncoding : uint32_t { f16 = 0, f32 = 1 };

struct ShardHeader {
  std::string site;
  int64_t height = 0, width = 0;
  std::vector<std::string> condition_channels;  // e.g. background, ncr, ed, et, brain
  std::vector<std::string> image_channels;      // e.g. t1, t1ce, t2, flair
  std::vector<SampleInfo> samples;              // filled by the writer as samples are added
};

// Appends samples, then finish() writes header, data and checksum to a temporary file, syncs and renames.
class ShardWriter {
 public:
  ShardWriter(std::string path, ShardHeader header,  // header.samples must be empty
              ImageEncoding encoding = ImageEncoding::f16);
  ~ShardWriter();
  // condition: [condition_channels, H, W] values in [0, 1], stored as round(255 v) (0 and 1 exact, others
  // within 1/510); image: [image_channels, H, W] in [-1, 1] (or z-scores); both row-major float. A
  // condition outside [0, 1], or an image value that is NaN, Inf or (float16) beyond 65504, is a ValueError
  // naming the shard and sample.
  void add(const float* condition, const float* image, const SampleInfo& info);
  void finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A shard opened read-only by mmap. open() checks magic, version, sizes, that subject ids and the site name
// are plain names (never paths), and (unless told not to) the checksum and that every image value is finite;
// a failure is a FormatError naming the file (and the subject, slice and modality of a non-finite value)
// and suggesting to re-run `asyndgan prepare`.
class Shard {
 public:
  static std::shared_ptr<Shard> open(const std::string& path, bool verify_checksum = true);
  ~Shard();
  const ShardHeader& header() const;
  int64_t size() const;  // number of samples
  // Decodes sample i into caller buffers of [C, H, W] floats.
  void read_condition(int64_t i, float* out) const;
  void read_image(int64_t i, float* out) const;

  // A window of a sample: rows [top, top + height), columns [left, left + width), mirrored left-right when
  // flip; height/width 0 mean the full size. The loader's crops decode straight into batch tensors.
  struct Window {
    int64_t top = 0, left = 0, height = 0, width = 0;
    bool flip = false;
  };
  // Decodes one channel of sample i through a window into [height, width] floats.
  void read_condition_plane(int64_t i, int64_t channel, const Window& w, float* out) const;
  void read_image_plane(int64_t i, int64_t channel, const Window& w, float* out) const;

  const std::string& path() const;
  ImageEncoding image_encoding() const;

 private:
  Shard() = default;
  struct Impl;
  static void check_finite(const Impl& m);
  std::unique_ptr<Impl> impl_;
};

}  // namespace asyndgan::data
