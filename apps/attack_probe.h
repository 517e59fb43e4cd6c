// A curious central node against one site (`asyndgan attack probe`): it sends synthetic images of its own making
// about one uploaded sample and reads the site's real image back out of the gradients the site returns.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>
#include "data/shard.h"
#include "dist/channel.h"
#include "dist/messages.h"

namespace asyndgan::app {

// bisect: per pixel an interval [-1, 1] narrowed by the sign of the gradient at probes inside it (the L1 term's
// gradient is lambda * sign(fake - real) / N). invert: descend the returned gradient from the mid image, with a
// decaying normalized step (gradient inversion; it follows the adversarial term too).
enum class ProbeMethod { bisect, invert };
const char* probe_method_name(ProbeMethod m);
ProbeMethod parse_probe_method(const std::string& name);  // ValueError naming the choices

struct ProbeOptions {
  ProbeMethod method = ProbeMethod::bisect;
  int64_t sample = 0;                                // the target: its position in the site's upload
  std::vector<int64_t> budgets = {1, 2, 4, 8, 16, 32};  // answers (rows) about the target, ascending
  // Rows per request: bisect probes that many points of each pixel's interval at once ((rows + 1)-ary search);
  // invert sends that many copies of its estimate and averages their gradients (noise averages out).
  int64_t rows_per_request = 1;
  // Between two requests about the target, ask once about every other uploaded sample, so the site's epoch turns
  // over and its per-epoch limit (site.max_queries_per_sample) never bites: a rate, not a bound.
  bool interleave = false;
  double step = 0.5, decay = 0.7;                    // invert: the first step (in pixel units) and its decay per request
  dist::WireDtype wire = dist::WireDtype::f32;       // what the site will see of a probe (rounded through it)
  dist::Timeout timeout = std::chrono::seconds(60);  // for each answer
};

// The attacker's estimate of the target's image at one budget.
struct ProbeSnapshot {
  int64_t budget = 0;
  std::vector<float> estimate;  // [image channels, H, W], in [-1, 1]
  int64_t refused = 0;          // rows about the target the site refused so far
};

struct ProbeRun {
  ProbeMethod method = ProbeMethod::bisect;
  std::vector<ProbeSnapshot> snapshots;  // one per budget
  int64_t asked = 0, refused = 0;        // rows about the target
  int64_t other_rows = 0, other_refused = 0;  // interleaved rows about the other samples
  std::string first_refusal;             // the site's reason for the first refusal, "" when none
};

// The central node's end of one site's link, played by hand: `serve` lets the site handle the message just sent
// (the tool and the tests drive dist::Site::serve_one on the same thread).
class ProbeAttacker {
 public:
  ProbeAttacker(dist::CentralChannel& channel, int64_t site, std::function<void()> serve, ProbeOptions options);
  // Receives the site's Hello and ConditionUpload, picks the target and sends Control start. ValueError for a
  // sample out of range, naming the site's count.
  void connect();
  const dist::Hello& hello() const { return hello_; }
  uint64_t target_key() const;
  // The target's condition map as uploaded: u8 [Cc, H, W], row-major.
  std::vector<uint8_t> target_condition() const;
  // Asks about the target until the largest budget is spent; refused rows leave the estimate as it was.
  ProbeRun run();

 private:
  dist::Gradient ask(const std::vector<uint64_t>& keys, const std::vector<float>& synthetic);
  std::vector<float> rounded(std::vector<float> v) const;  // through the wire dtype, as the site will read it
  void interleave(ProbeRun& run);

  dist::CentralChannel& channel_;
  int64_t site_;
  std::function<void()> serve_;
  ProbeOptions o_;
  dist::Hello hello_;
  dist::ConditionUpload upload_;
  int64_t step_ = 0;
};

// What the tool, playing the site too, measures the attack against: the target's real image, found in the shard by
// its uploaded condition map, and the best guess without answers, the site's mean training image.
struct ProbeTruth {
  int64_t shard_index = -1;
  std::vector<float> real;  // [image channels, H, W]
  std::vector<float> mean;  // pixel-wise mean over the training samples that have each channel
};
// ValueError when no training sample, or more than one, has that condition map (the target is then ambiguous).
ProbeTruth probe_truth(const data::Shard& shard, const std::vector<uint8_t>& condition);

// PSNR (capped at 99 dB) and SSIM of `estimate` against `real` over the image channels `channels` (data range 2, the
// generator's [-1, 1]), averaged over them.
struct ProbeQuality {
  double psnr = 0, ssim = 0;
};
ProbeQuality probe_quality(const std::vector<float>& real, const std::vector<float>& estimate,
                           const std::vector<int64_t>& channels, int64_t height, int64_t width);

}  // namespace asyndgan::app
