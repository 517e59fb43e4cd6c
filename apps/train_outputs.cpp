// The trainer's outputs: metrics records and their two sinks, sample grids, and the terminal progress line.
#include "apps/train_outputs.h"
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include "engine/autograd.h"
#include "base/error.h"
#include "apps/io/grid.h"
#include "apps/io/png.h"

namespace asyndgan::app {
namespace fs = std::filesystem;

Json metrics_record(const IterationInfo& it, const dist::StepReport& rep) {
  double g = 0, d = 0, dr = 0, df = 0, epsilon = 0;
  int n = 0;
  Json sites = Json::object();
  for (const dist::SiteReport& s : rep.sites) {
    Json o = Json::object();
    o["participated"] = s.participated;
    o["samples"] = s.samples;
    o["weight"] = s.weight;
    // A site that keeps its statistics (a privacy defence) has none here: null, not a zero that reads as a loss.
    const bool known = s.participated && !s.stats_withheld;
    auto stat = [&](double v) { return known ? Json(v) : Json(nullptr); };
    o["d_loss"] = stat(s.stats.d_loss);
    o["g_gan"] = stat(s.stats.g_gan);
    o["g_l1"] = stat(s.stats.g_l1);
    o["g_loss"] = stat(s.stats.g_loss);
    o["d_real"] = stat(s.stats.d_real);
    o["d_fake"] = stat(s.stats.d_fake);
    o["refused"] = s.refused;
    o["epsilon"] = s.epsilon;
    epsilon = std::max(epsilon, s.epsilon);
    Json& bytes = o["bytes"];
    for (int t = 0; t < dist::kMessageTypes; ++t)
      bytes[dist::message_type_name(static_cast<dist::MessageType>(t))] = static_cast<uint64_t>(s.bytes[static_cast<size_t>(t)]);
    sites[s.site] = std::move(o);
    if (!known) continue;
    g += s.weight * s.stats.g_loss;
    d += s.stats.d_loss;
    dr += s.stats.d_real;
    df += s.stats.d_fake;
    ++n;
  }
  Json r = Json::object();
  r["iter"] = it.iteration;
  r["lr_g"] = it.lr_g;
  r["lr_d"] = it.lr_d;
  // Over the sites that sent their statistics; null when none did (all keep them under a privacy defence).
  r["g_loss"] = n ? Json(g) : Json(nullptr);
  r["d_loss"] = n ? Json(d / n) : Json(nullptr);
  r["d_real"] = n ? Json(dr / n) : Json(nullptr);
  r["d_fake"] = n ? Json(df / n) : Json(nullptr);
  r["epsilon"] = epsilon;  // the most any sample of any site has spent (0: no site adds noise)
  r["sites"] = sites;
  r["images_per_s"] = it.images_per_s;
  r["seconds"] = it.seconds;
  if (it.device_mib >= 0) {
    r["device_mib"] = it.device_mib;
    r["device_peak_mib"] = it.device_peak_mib;
  }
  return r;
}

namespace {

// Keeps metrics.jsonl's lines of iterations 1..resume_from, each once, in order (lines logged after the
// checkpoint being resumed, by a run killed or stopped after it, are dropped: the resumed run logs them again).
// The file is rewritten through a temporary file and a rename, so a kill at any moment leaves the old file or
// the new one, never a truncated one; a fresh run finds none (train refuses a used folder without --overwrite).
std::string prepared_jsonl(const std::string& out_dir, int64_t resume_from) {
  const std::string path = (fs::path(out_dir) / "metrics.jsonl").string();
  std::error_code ec;
  if (!fs::exists(path, ec)) return path;
  int64_t last = 0;
  filter_jsonl(path, [&](const Json& r) {
    if (!r.is_object() || !r.contains("iter") || !r.at("iter").is_number_integer()) return false;
    const int64_t it = r.at("iter").get<int64_t>();
    if (it <= last || it > resume_from) return false;
    last = it;
    return true;
  });
  if (last < resume_from)
    std::printf("train: WARNING: %s has no line for iteration(s) %lld..%lld, which the checkpoint being resumed "
                "has done\n",
                path.c_str(), static_cast<long long>(last + 1), static_cast<long long>(resume_from));
  return path;
}

// TensorBoard tags: "loss/g", "site/<name>/g_l1", "bytes/<name>/gradient", ...
void scalars(const std::string& prefix, const Json& o, std::vector<std::pair<std::string, float>>& out) {
  for (const auto& item : o.items()) {
    const std::string& k = item.key();
    if (k == "iter" || k == "participated") continue;
    const std::string tag = prefix.empty() ? k : prefix + "/" + k;
    if (item.value().is_object()) scalars(tag, item.value(), out);
    else if (item.value().is_number()) out.emplace_back(tag, item.value().get<float>());
  }
}

}  // namespace

MetricsLog::MetricsLog(const std::string& out_dir, int64_t resume_from)
    : jsonl_(prepared_jsonl(out_dir, resume_from)),
      tb_(std::make_unique<TensorBoardWriter>((fs::path(out_dir) / "tb").string())) {}

void MetricsLog::write(const Json& record) {
  jsonl_.write(record);
  std::vector<std::pair<std::string, float>> s;
  for (const auto& item : record.items()) {
    const std::string& k = item.key();
    const Json& v = item.value();
    if (k == "sites") {
      for (const auto& site_item : v.items()) {
        const std::string& site = site_item.key();
        std::vector<std::pair<std::string, float>> per;
        scalars("", site_item.value(), per);
        // loss/<site>/g_l1 groups one curve per site under each loss in TensorBoard's sidebar.
        for (auto& [tag, x] : per)
          s.emplace_back(tag.starts_with("bytes/") ? "bytes/" + site + tag.substr(5) : "site/" + tag + "/" + site, x);
      }
    } else if (k != "iter" && v.is_number()) {
      s.emplace_back((k.ends_with("loss") || k.starts_with("d_") ? "loss/" : "train/") + k, v.get<float>());
    }
  }
  tb_->write_scalars(record.at("iter").get<int64_t>(), s);
}

// Labels as colours over a gray brain: each channel other than "background" and "brain" gets a hue; a
// single-channel condition is shown as it is.
Image8 condition_tile(const float* c, const std::vector<std::string>& names, int h, int w) {
  const int64_t P = static_cast<int64_t>(h) * w;
  if (names.size() == 1) return image_from_floats(c, 1, h, w, 0.f, 1.f);
  static const uint8_t palette[][3] = {{230, 60, 50}, {60, 200, 80}, {70, 110, 240}, {240, 200, 40}, {200, 80, 220}, {60, 210, 220}};
  Image8 img(w, h, 3, 0);
  int hue = 0;
  for (size_t ch = 0; ch < names.size(); ++ch) {
    if (names[ch] == "background") continue;
    const bool brain = names[ch] == "brain";
    const uint8_t* col = palette[hue % 6];
    if (!brain) ++hue;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const float v = std::clamp(c[ch * P + static_cast<int64_t>(y) * w + x], 0.f, 1.f);
        if (v <= 0) continue;
        for (int k = 0; k < 3; ++k) {
          const uint8_t target = brain ? uint8_t{90} : col[k];
          img.at(x, y, k) = static_cast<uint8_t>(brain ? std::max<float>(img.at(x, y, k), target * v) : target * v);
        }
      }
  }
  return img;
}

std::vector<std::string> grid_column_names(const std::vector<std::string>& modalities, bool with_real) {
  std::vector<std::string> names{"cond"};
  for (const std::string& m : modalities) {
    if (with_real) names.push_back(m + " real");
    names.push_back(m + " fake");
  }
  return names;
}

namespace {

std::string grid_path(const std::string& dir, int64_t iteration) {
  const fs::path samples = fs::path(dir) / "samples";
  fs::create_directories(samples);
  char name[64];
  std::snprintf(name, sizeof name, "iter_%06lld.png", static_cast<long long>(iteration));
  return (samples / name).string();
}

Image8 gray_tile(const float* plane, int64_t h, int64_t w) {
  return image_from_floats(plane, 1, static_cast<int>(h), static_cast<int>(w));
}

}  // namespace

std::string write_central_grid(const std::string& out_dir, dist::Central& central, int64_t count, int64_t crop,
                               int64_t iteration) {
  const std::vector<dist::Hello>& sites = central.sites();
  const dist::Hello& h0 = sites.at(0);
  const auto M = static_cast<int64_t>(h0.image_channels.size());
  std::vector<Image8> tiles;
  std::vector<std::string> row_names;
  for (size_t j = 0; j < sites.size(); ++j) {
    const int64_t H = sites[j].height, W = sites[j].width;
    const data::CropFlip centre{static_cast<int32_t>(crop ? (H - crop) / 2 : 0), static_cast<int32_t>(crop ? (W - crop) / 2 : 0), false};
    std::vector<int64_t> positions;
    for (int64_t i = 0; i < std::min(count, sites[j].samples); ++i) positions.push_back(i);
    const Tensor x = central.conditions(static_cast<int64_t>(j), positions, std::vector<data::CropFlip>(positions.size(), centre));
    const Tensor fake = central.preview(x);
    const int64_t Cc = x.size(1), h = x.size(2), w = x.size(3), P = h * w;
    for (size_t i = 0; i < positions.size(); ++i) {
      const auto b = static_cast<int64_t>(i);
      tiles.push_back(condition_tile(x.data<float>() + b * Cc * P, h0.condition_channels, static_cast<int>(h), static_cast<int>(w)));
      for (int64_t m = 0; m < M; ++m) tiles.push_back(gray_tile(fake.data<float>() + (b * M + m) * P, h, w));
      row_names.push_back(sites[j].site);
    }
  }
  std::string cols = "condition";
  for (const auto& m : h0.image_channels) cols += " | " + m + " synthetic";
  const std::string path = grid_path(out_dir, iteration);
  write_png(path, labeled_grid(tiles, static_cast<int>(1 + M), grid_column_names(h0.image_channels, false), row_names),
            {{"Title", msg("asyndgan samples at the central node, iteration ", iteration)},
             {"Description", "columns: " + cols + "; rows: the first conditions each site uploaded (the central node holds no real image)"}});
  return path;
}

std::string write_site_grid(const std::string& site_dir, const dist::Site& site, int64_t iteration) {
  const dist::Site::LastBatch b = site.last_batch();
  if (b.step < 0) return "";
  const auto B = b.condition.size(0), Cc = b.condition.size(1), h = b.condition.size(2), w = b.condition.size(3);
  const int64_t M = b.real.size(1), P = h * w;
  const std::vector<uint8_t> has = site.has_modality();
  std::vector<Image8> tiles;
  std::vector<std::string> row_names;
  for (int64_t i = 0; i < B; ++i) {
    tiles.push_back(condition_tile(b.condition.data<float>() + i * Cc * P, site.condition_channels(), static_cast<int>(h),
                                   static_cast<int>(w)));
    for (int64_t m = 0; m < M; ++m) {
      tiles.push_back(has[static_cast<size_t>(m)] ? gray_tile(b.real.data<float>() + (i * M + m) * P, h, w)
                                                   : Image8(static_cast<int>(w), static_cast<int>(h), 1, 0));
      tiles.push_back(gray_tile(b.synthetic.data<float>() + (i * M + m) * P, h, w));
    }
    row_names.push_back(site.name());
  }
  std::string cols = "condition";
  for (const auto& m : site.image_channels()) cols += " | " + m + " real | " + m + " synthetic";
  const std::string path = grid_path(site_dir, iteration);
  write_png(path, labeled_grid(tiles, static_cast<int>(1 + 2 * M), grid_column_names(site.image_channels()), row_names),
            {{"Title", msg("asyndgan samples at site ", site.name(), ", iteration ", iteration)},
             {"Description", msg("columns: ", cols, "; rows: the batch of step ", b.step,
                                 " (black: modality missing at the site); written at the site, never sent")}});
  return path;
}

Progress::Progress(int64_t start, int64_t total, int64_t every)
    : tty_(isatty(STDOUT_FILENO) != 0), start_(start), total_(total), every_(every),
      t0_(std::chrono::steady_clock::now()), last_draw_(t0_ - std::chrono::seconds(1)) {}

namespace {

std::string duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const auto t = static_cast<long long>(s + 0.5);
  return t >= 3600 ? msg(t / 3600, "h", (t / 60) % 60 < 10 ? "0" : "", (t / 60) % 60, "m")
                   : msg(t / 60, "m", t % 60 < 10 ? "0" : "", t % 60, "s");
}

std::string fixed(double v, int digits) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

}  // namespace

void Progress::update(const IterationInfo& it, const Json& r) {
  const auto now = std::chrono::steady_clock::now();
  const bool last = it.iteration >= total_;
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  const double per_iter = elapsed / static_cast<double>(std::max<int64_t>(1, it.iteration - start_));
  std::string g_sites, d_sites;
  for (const auto& site : r.at("sites").items()) {
    const Json& o = site.value();
    if (!o.at("participated").get<bool>() || o.at("g_loss").is_null()) continue;
    g_sites += " " + site.key() + " " + fixed(o.at("g_loss").get<double>(), 3);
    d_sites += " " + site.key() + " " + fixed(o.at("d_loss").get<double>(), 3);
  }
  // Sites under a privacy defence keep their statistics: the line shows what the others sent, and the budget spent.
  const std::string losses =
      g_sites.empty() ? std::string("  losses kept by the sites")
                      : msg("  G", g_sites, "  D", d_sites, "  D(real) ", fixed(r.at("d_real").get<double>(), 2), " D(fake) ",
                            fixed(r.at("d_fake").get<double>(), 2));
  const double epsilon = r.value("epsilon", 0.0);
  const std::string line =
      msg("iter ", it.iteration, "/", total_, "  ETA ", duration(per_iter * static_cast<double>(total_ - it.iteration)),
          losses, epsilon > 0 ? msg("  eps ", fixed(epsilon, 2)) : std::string(), "  ", fixed(it.images_per_s, 1), " img/s",
          it.device_mib >= 0 ? msg("  GPU ", fixed(it.device_mib, 0), "/", fixed(it.device_peak_mib, 0), " MiB") : "");
  if (tty_) {
    if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    std::printf("\r\033[K%s", line.c_str());
    live_ = true;
  } else if (it.iteration % every_ == 0 || last || it.iteration == start_ + 1) {
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);
}

void PrivacyTally::add(const dist::StepReport& rep) {
  for (const dist::SiteReport& s : rep.sites) {
    auto& [epsilon, refused] = sites_[s.site];
    epsilon = std::max(epsilon, s.epsilon);
    refused += s.refused;
  }
}

std::vector<std::string> PrivacyTally::lines(const std::vector<dist::Hello>& sites,
                                             const std::function<std::string(const std::string&)>& site_wide) const {
  std::vector<std::string> out;
  for (const auto& [site, v] : sites_) {
    if (v.first == 0 && v.second == 0) continue;
    std::string delta = "?";
    for (const dist::Hello& h : sites)
      if (h.site == site)
        for (const dist::Setting& s : h.declared)
          if (s.key == "site.privacy.delta") delta = s.value;
    std::string line = msg("train: privacy: site '", site, "': ");
    line += v.first > 0 ? msg("epsilon ", fixed(v.first, 3), " at delta ", delta, " per sample (the most any of its samples spent)")
                        : std::string("no noise");
    if (site_wide) line += site_wide(site);
    out.push_back(line + msg("; ", v.second, " row(s) refused"));
  }
  return out;
}

void Progress::note(const std::string& line) {
  std::printf("%s%s\n", live_ ? "\r\033[K" : "", line.c_str());
  live_ = false;
  std::fflush(stdout);
}

void Progress::finish() {
  if (live_) std::printf("\n");
  live_ = false;
  std::fflush(stdout);
}

}  // namespace asyndgan::app
