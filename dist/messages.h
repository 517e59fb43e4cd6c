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
// opaque 64-bit keys the site draws at random from a secret only it holds (dist/site_secret.h), in the shard's
// u8 quantization.
//
// Tensor fields may live on any device: the channel that carries a message moves them (the byte channels copy
// them to the host as they encode, converted to the run's wire dtype on their device first, through pinned
// memory), so the roles never copy a tensor to the host themselves, and a device-to-device channel can take them
// as they are.
//
// Encoding (all integers little-endian): u8 protocol version (kProtocolVersion) | u8 MessageType | payload.
// Strings: u32 length + bytes. Vectors: u64 count + items. Tensors: u8 dtype code (the run's wire dtype for
// floating fields, u8 for condition maps), u32 ndim (<= 8), i64 dims (>= 0), then the contiguous data.
// Decoding checks every length against the bytes that remain before allocating, requires the message to end
// exactly at the last field, and throws FormatError naming the message type and field for anything else;
// floating fields come back as f32 tensors on the device the decoder is given (the host by default; for a GPU,
// staged in pinned memory in the wire dtype, copied asynchronously and converted there), condition maps as host
// u8 tensors.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>
#include "data/loader.h"
#include "dist/wire_dtype.h"
#include "engine/tensor.h"

namespace asyndgan::dist {

inline constexpr uint8_t kProtocolVersion = 3;  // 3: a Gradient says what the site refused or withheld

enum class MessageType : uint8_t { hello = 0, conditions = 1, request = 2, gradient = 3, control = 4, failure = 5 };
inline constexpr int kMessageTypes = 6;
// "hello", "conditions", "request", "gradient", "control", "failure"
const char* message_type_name(MessageType t);

// One setting as "key" = "value" (the value in the config's own spelling).
struct Setting {
  std::string key, value;
  bool operator==(const Setting&) const = default;
};
using Settings = std::vector<Setting>;

// Site -> central, first: the protocol, the run contract and the shape of what the site holds. No patient data:
// counts, channel names and settings.
struct Hello {
  uint8_t protocol = kProtocolVersion;
  std::string contract_hash;                    // dist/contract.h: hex SHA-256 of `contract`
  Settings contract;                            // the settings every role of the run must share
  Settings declared;                            // the site's own settings (its device, ...), for the record
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
  Tensor synthetic;                  // f32 [B, Cm, h, w]: G(x_j), on any device
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

// Site -> central, per request: dL_j/dG(x_j) and nothing of the data behind it. A site applies its own policy
// (dist/site_policy.h): rows it refuses to answer about are zero and flagged, with one line saying why; under
// differential privacy the rows are clipped and noised, its statistics withheld (zeros), and it reports the
// largest epsilon any of its samples has spent.
struct Gradient {
  int64_t step = 0;
  int64_t samples = 0;  // b_j, the batch size the gradient is a mean over
  Tensor grad;          // f32, the shape of Request::synthetic, on any device; zero on channels the site lacks
  SiteStats stats;
  std::vector<uint8_t> refused;  // empty, or one per row: 1 where the site refused (that row of grad is zero)
  std::string refusal;           // why, in one line naming no patient data; empty when nothing was refused
  bool stats_withheld = false;   // the site keeps its statistics (stats are zeros)
  double epsilon = 0;            // the most any of the site's samples has spent of its budget (0: no DP)
  int64_t answered() const;      // rows not refused
};

enum class ControlKind : uint8_t { start = 0, stop = 1, checkpoint = 2, set_lr = 3 };
inline constexpr uint8_t kControlKinds = 4;
// Central -> site: start (training begins at `step`), stop (the run is over: the site's serve loop ends),
// checkpoint (the site saves its own state, tagged `step`, where it keeps it: its state never crosses the
// channel), set_lr (the learning-rate schedule: the discriminators' Adam steps with `value` from `step` on).
struct Control {
  ControlKind kind = ControlKind::start;
  int64_t step = 0;
  double value = 0;  // set_lr: the learning rate; 0 otherwise
  bool operator==(const Control&) const = default;
};

// Either way: the sender cannot go on (a refused contract, a site that failed its step) and closes the link.
// `reason` is one line for the other side's log; it names no patient data.
struct Failure {
  std::string reason;
  bool operator==(const Failure&) const = default;
};

using ToSite = std::variant<Request, Control, Failure>;
using ToCentral = std::variant<Hello, ConditionUpload, Gradient, Failure>;

MessageType type_of(const ToSite& m);
MessageType type_of(const ToCentral& m);

// Floating tensors go out in `wire` (converted on their device, then copied to the host).
std::vector<uint8_t> encode(const ToSite& m, WireDtype wire = WireDtype::f32);
std::vector<uint8_t> encode(const ToCentral& m, WireDtype wire = WireDtype::f32);
// FormatError on a wrong version, an unknown type or one of the other direction, a bad length, a floating
// field not in `wire`, or trailing bytes.
ToSite decode_to_site(std::span<const uint8_t> bytes, WireDtype wire = WireDtype::f32, Device landing = Device::cpu());
ToCentral decode_to_central(std::span<const uint8_t> bytes, WireDtype wire = WireDtype::f32,
                            Device landing = Device::cpu());
// What a message would weigh on the wire, without converting or copying any tensor: encode(m, wire).size().
uint64_t encoded_size(const ToSite& m, WireDtype wire);
uint64_t encoded_size(const ToCentral& m, WireDtype wire);
// The message as the other end would decode it, without the bytes: floating tensors rounded through the wire
// dtype and back to f32 on their own device, every tensor a copy (the sender may overwrite its own next step).
// A channel within one process carries this (InProcessChannel's Carry::tensors).
ToSite carried(const ToSite& m, WireDtype wire);
ToCentral carried(const ToCentral& m, WireDtype wire);
// The step a request, gradient or control message is about (0 for the others), as peek_step reads it.
int64_t step_of(const ToSite& m);
int64_t step_of(const ToCentral& m);
// The type byte of an encoded message (FormatError when too short or unknown), for counting.
MessageType peek_type(std::span<const uint8_t> bytes);
// The step an encoded request, gradient or control message is about (0 for the others), for frame headers.
int64_t peek_step(std::span<const uint8_t> bytes);

}  // namespace asyndgan::dist
