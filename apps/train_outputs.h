// What `asyndgan train` writes while it runs: per-iteration metrics (JSON lines and TensorBoard), the central
// node's sample grids (condition | synthetic), each site's own grid (condition | real | synthetic, written where
// the site keeps its files), and the progress line or log lines on stdout.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <functional>
#include <map>
#include <string>
#include <vector>
#include "data/loader.h"
#include "dist/simulation.h"
#include "engine/io/json.h"
#include "apps/io/jsonl.h"
#include "apps/io/png.h"
#include "apps/io/tensorboard.h"

namespace asyndgan::app {

// One iteration as train saw it; timing fields are the only ones a resumed run may not reproduce.
struct IterationInfo {
  int64_t iteration = 0;  // 1-based: iterations done after this one
  int64_t total = 0;
  double lr_g = 0, lr_d = 0;
  double seconds = 0;       // this iteration's wall time
  double images_per_s = 0;  // samples of this iteration / seconds
  // Device memory held by tensors now and at most so far (caching allocator), MiB; negative on the CPU.
  double device_mib = -1, device_peak_mib = -1;
};

// The metrics record: {"iter", "lr_g", "lr_d", "g_loss" (the pi-weighted sum the generator stepped on),
// "d_loss", "d_real", "d_fake" (means over the sites that took part), "sites": {name: {participated,
// samples, weight, d_loss, g_gan, g_l1, g_loss, d_real, d_fake, bytes: {type: n}}}, "images_per_s",
// "seconds"}, and on a GPU "device_mib" and "device_peak_mib".
Json metrics_record(const IterationInfo& it, const dist::StepReport& rep);

class MetricsLog {
 public:
  // <out>/metrics.jsonl (appended, never truncated) and a new event file under <out>/tb. The lines after
  // iteration resume_from (logged before an interruption) and any repeated iteration are dropped first.
  MetricsLog(const std::string& out_dir, int64_t resume_from);
  void write(const Json& record);  // the line, and its numbers as TensorBoard scalars
  const std::string& jsonl_path() const { return jsonl_.path(); }
  const std::string& tensorboard_path() const { return tb_->path(); }

 private:
  JsonlWriter jsonl_;
  std::unique_ptr<TensorBoardWriter> tb_;
};

// A condition map [C][h][w] as a preview tile: label channels in colours over a gray brain (channels named
// "background" are left black); a single-channel condition in gray.
Image8 condition_tile(const float* condition, const std::vector<std::string>& names, int h, int w);

// The header row of the sample grids and synth previews: "cond", then per modality "<modality> real" (when
// with_real) and "<modality> fake" (short, so that they fit a 64-pixel cell).
std::vector<std::string> grid_column_names(const std::vector<std::string>& modalities, bool with_real = true);

// <out>/samples/iter_<N>.png at the central node, which holds no real image: one row per displayed sample, the
// first `count` conditions each site uploaded (centre-cropped to the training crop, the same every time), labelled
// with its site, columns condition | synthetic per modality. G runs in eval mode without gradients, so the
// training state (batch-norm statistics, dropout stream) is untouched.
std::string write_central_grid(const std::string& out_dir, dist::Central& central, int64_t count, int64_t crop,
                               int64_t iteration);

// <site_dir>/samples/iter_<N>.png at a site: its last answered batch as condition | real | synthetic per
// modality (a modality the site lacks shows a black real tile); "" when it has answered no request yet.
std::string write_site_grid(const std::string& site_dir, const dist::Site& site, int64_t iteration);

// What each site's policy did over the run, as the sites reported it: the largest epsilon any of its samples spent,
// and the rows it refused. lines() is empty when no site noised or refused anything.
class PrivacyTally {
 public:
  void add(const dist::StepReport& rep);
  // One line per site that noised or refused, with the delta each declared in its Hello (`sites`); `site_wide`
  // (optional) adds what only a simulation knows.
  std::vector<std::string> lines(const std::vector<dist::Hello>& sites,
                                 const std::function<std::string(const std::string& site)>& site_wide = {}) const;

 private:
  std::map<std::string, std::pair<double, int64_t>> sites_;  // site -> (epsilon, rows refused)
};

// stdout: on a terminal one line rewritten in place (iteration/total, ETA, G and D losses, images/s);
// otherwise a plain line every `every` iterations and at the last.
class Progress {
 public:
  Progress(int64_t start, int64_t total, int64_t every);
  void update(const IterationInfo& it, const Json& record);
  void note(const std::string& line);  // a message line that does not garble the live line
  void finish();

 private:
  bool tty_;
  int64_t start_, total_, every_;
  std::chrono::steady_clock::time_point t0_, last_draw_;
  bool live_ = false;
};

}  // namespace asyndgan::app
