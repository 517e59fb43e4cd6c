// The trainer's outputs: metrics records and their two sinks, sample grids, and the terminal progress line.
#include "apps/train_outputs.h"
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include "engine/autograd.h"
#include "base/error.h"
#include "apps/io/png.h"

namespace asyndgan::app {
namespace fs = std::filesystem;

Json metrics_record(const IterationInfo& it, const dist::StepReport& rep) {
  double g = 0, d = 0, dr = 0, df = 0;
  int n = 0;
  Json sites = Json::object();
  for (const dist::SiteReport& s : rep.sites) {
    Json o = Json::object();
    o.set("participated", s.participated);
    o.set("samples", s.samples);
    o.set("weight", s.weight);
    o.set("d_loss", s.stats.d_loss);
    o.set("g_gan", s.stats.g_gan);
    o.set("g_l1", s.stats.g_l1);
    o.set("g_loss", s.stats.g_loss);
    o.set("d_real", s.stats.d_real);
    o.set("d_fake", s.stats.d_fake);
    Json bytes = Json::object();
    for (int t = 0; t < dist::kMessageTypes; ++t)
      bytes.set(dist::message_type_name(static_cast<dist::MessageType>(t)), Json(static_cast<uint64_t>(s.bytes[static_cast<size_t>(t)])));
    o.set("bytes", bytes);
    sites.set(s.site, o);
    if (!s.participated) continue;
    g += s.weight * s.stats.g_loss;
    d += s.stats.d_loss;
    dr += s.stats.d_real;
    df += s.stats.d_fake;
    ++n;
  }
  Json r = Json::object();
  r.set("iter", it.iteration);
  r.set("lr_g", it.lr_g);
  r.set("lr_d", it.lr_d);
  r.set("g_loss", g);
  r.set("d_loss", n ? d / n : 0.0);
  r.set("d_real", n ? dr / n : 0.0);
  r.set("d_fake", n ? df / n : 0.0);
  r.set("sites", sites);
  r.set("images_per_s", it.images_per_s);
  r.set("seconds", it.seconds);
  if (it.device_mib >= 0) {
    r.set("device_mib", it.device_mib);
    r.set("device_peak_mib", it.device_peak_mib);
  }
  return r;
}

namespace {

std::string prepared_jsonl(const std::string& out_dir, int64_t resume_from) {
  const std::string path = (fs::path(out_dir) / "metrics.jsonl").string();
  std::error_code ec;
  if (resume_from > 0 && fs::exists(path, ec))
    filter_jsonl(path, [&](const Json& r) {
      const Json* it = r.is_object() ? r.find("iter") : nullptr;
      return it && it->is_integer() && it->as_int() <= resume_from;
    });
  else if (resume_from == 0)
    fs::remove(path, ec);  // a fresh run starts a fresh file
  return path;
}

// TensorBoard tags: "loss/g", "site/<name>/g_l1", "bytes/<name>/gradient", ...
void scalars(const std::string& prefix, const Json& o, std::vector<std::pair<std::string, float>>& out) {
  for (const auto& [k, v] : o.as_object()) {
    if (k == "iter" || k == "participated") continue;
    const std::string tag = prefix.empty() ? k : prefix + "/" + k;
    if (v.is_object()) scalars(tag, v, out);
    else if (v.kind() == Json::Kind::number || v.is_integer()) out.emplace_back(tag, static_cast<float>(v.as_number()));
  }
}

}  // namespace

MetricsLog::MetricsLog(const std::string& out_dir, int64_t resume_from)
    : jsonl_(prepared_jsonl(out_dir, resume_from)),
      tb_(std::make_unique<TensorBoardWriter>((fs::path(out_dir) / "tb").string())) {}

void MetricsLog::write(const Json& record) {
  jsonl_.write(record);
  std::vector<std::pair<std::string, float>> s;
  for (const auto& [k, v] : record.as_object()) {
    if (k == "sites") {
      for (const auto& [site, o] : v.as_object()) {
        std::vector<std::pair<std::string, float>> per;
        scalars("", o, per);
        // loss/<site>/g_l1 groups one curve per site under each loss in TensorBoard's sidebar.
        for (auto& [tag, x] : per)
          s.emplace_back(tag.starts_with("bytes/") ? "bytes/" + site + tag.substr(5) : "site/" + tag + "/" + site, x);
      }
    } else if (k != "iter" && (v.kind() == Json::Kind::number || v.is_integer())) {
      s.emplace_back((k.ends_with("loss") || k.starts_with("d_") ? "loss/" : "train/") + k, static_cast<float>(v.as_number()));
    }
  }
  tb_->write_scalars(record.find("iter")->as_int(), s);
}

std::vector<data::Batch> display_batches(const dist::Simulation& sim, int64_t count, int64_t crop) {
  std::vector<data::Batch> out;
  for (int64_t j = 0; j < sim.num_sites(); ++j) {
    const data::Shard& shard = sim.shard(j);
    std::vector<int64_t> val, train;
    for (int64_t i = 0; i < shard.size(); ++i) {
      const data::Split sp = shard.header().samples[static_cast<size_t>(i)].split;
      if (sp == data::Split::val && static_cast<int64_t>(val.size()) < count) val.push_back(i);
      if (sp == data::Split::train && static_cast<int64_t>(train.size()) < count) train.push_back(i);
    }
    std::vector<int64_t>& idx = val.empty() ? train : val;
    if (idx.empty()) idx.push_back(0);
    const int64_t H = shard.header().height, W = shard.header().width;
    const data::CropFlip centre{static_cast<int32_t>(crop ? (H - crop) / 2 : 0), static_cast<int32_t>(crop ? (W - crop) / 2 : 0), false};
    out.push_back(data::make_batch(shard, idx, std::vector<data::CropFlip>(idx.size(), centre), crop, 1));
  }
  return out;
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

std::string write_sample_grid(const std::string& out_dir, dist::Simulation& sim, const std::vector<data::Batch>& batches,
                              int64_t iteration) {
  const data::ShardHeader& h0 = sim.shard(0).header();
  const auto M = static_cast<int64_t>(h0.image_channels.size());
  std::vector<Image8> tiles;
  std::string rows;
  for (size_t j = 0; j < batches.size(); ++j) {
    const data::Batch& b = batches[j];
    const Tensor fake = sim.central().preview(b.condition);
    const auto B = b.condition.size(0), Cc = b.condition.size(1), h = b.condition.size(2), w = b.condition.size(3);
    const int64_t P = h * w;
    const float* cond = b.condition.data<float>();
    const float* real = b.image.data<float>();
    const float* syn = fake.data<float>();
    const std::vector<uint8_t> has = sim.site(static_cast<int64_t>(j)).has_modality();
    for (int64_t i = 0; i < B; ++i) {
      tiles.push_back(condition_tile(cond + i * Cc * P, h0.condition_channels, static_cast<int>(h), static_cast<int>(w)));
      for (int64_t m = 0; m < M; ++m) {
        const bool real_here = has[static_cast<size_t>(m)] && b.available.data<float>()[i * M + m] > 0;
        tiles.push_back(real_here ? image_from_floats(real + (i * M + m) * P, 1, static_cast<int>(h), static_cast<int>(w))
                                  : Image8(static_cast<int>(w), static_cast<int>(h), 1, 0));
        tiles.push_back(image_from_floats(syn + (i * M + m) * P, 1, static_cast<int>(h), static_cast<int>(w)));
      }
      rows += msg(rows.empty() ? "" : ", ", b.site, " sample ", b.indices[static_cast<size_t>(i)]);
    }
  }
  std::string cols = "condition";
  for (const auto& m : h0.image_channels) cols += " | " + m + " real | " + m + " synthetic";
  const fs::path dir = fs::path(out_dir) / "samples";
  fs::create_directories(dir);
  char name[64];
  std::snprintf(name, sizeof name, "iter_%06lld.png", static_cast<long long>(iteration));
  const std::string path = (dir / name).string();
  write_png(path, tile_grid(tiles, static_cast<int>(1 + 2 * M)),
            {{"Title", msg("asyndgan samples, iteration ", iteration)},
             {"Description", "columns: " + cols + "; rows: " + rows + " (black: modality missing at the site)"}});
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
  for (const auto& [site, o] : r.find("sites")->as_object()) {
    if (!o.find("participated")->as_bool()) continue;
    g_sites += " " + site + " " + fixed(o.find("g_loss")->as_number(), 3);
    d_sites += " " + site + " " + fixed(o.find("d_loss")->as_number(), 3);
  }
  const std::string line =
      msg("iter ", it.iteration, "/", total_, "  ETA ", duration(per_iter * static_cast<double>(total_ - it.iteration)),
          "  G", g_sites, "  D", d_sites, "  D(real) ", fixed(r.find("d_real")->as_number(), 2), " D(fake) ",
          fixed(r.find("d_fake")->as_number(), 2), "  ", fixed(it.images_per_s, 1), " img/s",
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
