// The AsynDGAN wire protocol: the only things the central node and a site may say to each other, as typed
// structs, and their explicit little-endian binary encoding (the bytes every channel carries and counts).
//
// What can cross, by construction: a message is one of the five structs below, and encode()/decode() know
// only their fields. None of them has a field for a real image, a site's sample ids or subject names, or a
// module (discriminator weights): the pixel-carrying fields are Request::synthetic (G's output, made by the
// central node, which never holds a real image) and Gradient::grad (dL/dG(x) at the site). The site keeps its
// Shard and discriminators as private members with no accessor (dist/site.h), so no code outside Site can
// put them into a message, and Site builds only Hello, ConditionUpload and Gradient. The direction is in the
// types too: a site can only send ToCentral, the central node only ToSite.
//
// Condition maps go up once, at the start (as the authors did): only the site's training samples, under
// opaque 64-bit keys the site draws at random from a private seed, in the shard's u8 quantization.
//
// Encoding (all integers little-endian): u8 protocol version (kProtocolVersion) | u8 MessageType | payload.
// Strings: u32 length + bytes. Vectors: u64 count + items. Tensors: u8 dtype code (f32 or u8 only),
// u32 ndim (<= 8), i64 dims (>= 0), then the contiguous data. Decoding checks every length against the
// bytes that remain before allocating, requires the message to end exactly at the last field, and throws
// FormatError naming the message type and field for anything else.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>
#include "data/loader.h"
#include "engine/tensor.h"

namespace asyndgan::dist {

inline constexpr uint8_t kProtocolVersion = 1;

enum class MessageType : uint8_t { hello = 0, conditions = 1, request = 2, gradient = 3, control = 4 };
inline constexpr int kMessageTypes = 5;
const char* message_type_name(MessageType t);  // "hello", "conditions", "request", "gradient", "control"

// Site -> central, first: the shape of what the site holds. No patient data: counts and channel names.
struct Hello {
  std::string site;                             // the site's name as prepared (shard header)
  int64_t samples = 0;                          // n_j, its training samples (the aggregation weight)
  int64_t height = 0, width = 0;                // sample size before cropping
  std::vector<std::string> condition_channels;  // G's input channels
  std::vector<std::string> image_channels;      // G's output channels (all modalities of the run)
  std::vector<uint8_t> has_modality;            // per image channel: 1 when the site has it (and a D for it)
  bool operator==(const Hello&) const = default;
};

// Site -> central, once after Hello: the condition maps of its training samples under opaque keys.
struct ConditionUpload {
  std::vector<uint64_t> keys;  // one per sample; only the site maps a key back to its sample
  Tensor conditions;           // u8 [n, Cc, H, W]: round(255 v), exactly the shard's quantization
};

// Central -> site, per step: the samples drawn (keys), how each was augmented (so the site crops and
// mirrors its real image identically), and G's synthetic images for them.
struct Request {
  int64_t step = 0;
  int64_t crop = 0;                  // crop side; 0: the full sample
  std::vector<uint64_t> keys;        // B keys from the site's upload (repeats allowed)
  std::vector<data::CropFlip> aug;   // B augmentations
  Tensor synthetic;                  // f32 [B, Cm, h, w]: G(x_j)
};

// A site's scalar statistics for one request (means over its discriminators / modalities).
struct SiteStats {
  double d_loss = 0;   // 0.5 * (GAN(D(x, real), 1) + GAN(D(x, fake), 0)), before the D step
  double g_gan = 0;    // GAN(D(x, fake), 1) with the updated D
  double g_l1 = 0;     // L1(fake, real), unweighted (masked when the run masks it)
  double g_loss = 0;   // the site's generator loss: sum over its modalities of g_gan + lambda_L1 * g_l1
  double d_real = 0;   // mean D(x, real): sigmoid probability for vanilla, raw output for LSGAN
  double d_fake = 0;   // mean D(x, fake), likewise
  bool operator==(const SiteStats&) const = default;
};

// Site -> central, per request: dL_j/dG(x_j) and nothing of the data behind it.
struct Gradient {
  int64_t step = 0;
  int64_t samples = 0;  // b_j, the batch size the gradient is a mean over
  Tensor grad;          // f32, the shape of Request::synthetic; zero on channels the site lacks
  SiteStats stats;
};

enum class ControlKind : uint8_t { start = 0, stop = 1, checkpoint = 2 };
// Central -> site: start (training begins at `step`), stop (the site's serve loop ends), checkpoint (the
// site saves its own state, tagged `step`, where it keeps it: its state never crosses the channel).
struct Control {
  ControlKind kind = ControlKind::start;
  int64_t step = 0;
  bool operator==(const Control&) const = default;
};

using ToSite = std::variant<Request, Control>;
using ToCentral = std::variant<Hello, ConditionUpload, Gradient>;

MessageType type_of(const ToSite& m);
MessageType type_of(const ToCentral& m);

std::vector<uint8_t> encode(const ToSite& m);
std::vector<uint8_t> encode(const ToCentral& m);
// FormatError on a wrong version, an unknown type or one of the other direction, a bad length or dtype,
// or trailing bytes.
ToSite decode_to_site(std::span<const uint8_t> bytes);
ToCentral decode_to_central(std::span<const uint8_t> bytes);
// The type byte of an encoded message (FormatError when too short or unknown), for counting.
MessageType peek_type(std::span<const uint8_t> bytes);

}  // namespace asyndgan::dist
