// `asyndgan train --role central|site`: one role of a deployment per process. The central node listens on
// dist.listen, waits for its sites, then runs the same loop as a simulation over the TCP channel; a site connects
// to dist.central with its own shard, certificate and secret, answers requests until the central node stops the
// run, and keeps its own grid, checkpoints and audit log in its output.dir.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include "apps/io/jsonl.h"
#include "apps/synth_inputs.h"
#include "apps/train_outputs.h"
#include "apps/train_run.h"
#include "apps/utc_time.h"
#include "base/error.h"
#include "dist/site.h"
#include "dist/site_secret.h"
#include "dist/tcp_channel.h"
#include "engine/io/file_io.h"
#include "engine/numerics.h"
#include "engine/rng.h"

namespace asyndgan::app {
namespace fs = std::filesystem;
namespace {

void log_line(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

std::optional<net::TlsFiles> tls_files(const TrainArgs& args, const TrainConfig& cfg, const std::string& name) {
  if (args.insecure) {
    log_line("train: WARNING: --insecure: plaintext TCP, no certificates: anyone on the network path can read and alter "
             "what crosses; use it on one machine only");
    return std::nullopt;
  }
  const fs::path dir(cfg.dist.certs);
  return net::TlsFiles{(dir / "ca.pem").string(), (dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
}

std::chrono::milliseconds seconds(double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000 + 0.5)); }

// The secret a site draws its keys from: <out>/site_secret, made from the OS's randomness on the first start
// (mode 0600), read back on every later one, so a resumed site keeps the keys the central node holds.
uint64_t site_secret(const std::string& out) {
  const std::string path = (fs::path(out) / "site_secret").string();
  std::ifstream in(path);
  if (in) {
    std::string hex;
    in >> hex;
    if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw FormatError(msg(path, ": not a site secret (16 lowercase hex digits); restore it from the site's backup"));
    return std::stoull(hex, nullptr, 16);
  }
  const uint64_t s = dist::new_site_secret();
  char text[32];
  std::snprintf(text, sizeof text, "%016" PRIx64 "\n", s);
  fs::create_directories(out);
  AtomicFileWriter w(path, 0600);
  w.write(text, 16 + 1);
  w.commit();
  return s;
}

}  // namespace

SiteParts site_parts(const TrainConfig& cfg, const data::ShardHeader& shard) {
  check_discriminator_depth(cfg, shard.height, shard.width);
  SiteParts p{cfg.options, discriminator_factory(cfg), {}};
  if (cfg.modalities.count(shard.site)) p.modalities = cfg.modalities.at(shard.site);
  return p;
}

int run_central(const TrainArgs& args, TrainConfig& cfg) {
  if (cfg.dist.sites.empty())
    throw ValueError("config: 'dist.sites' names no site: the central node's config lists the run's sites, e.g. "
                     "dist.sites = [\"SiteA\", \"SiteB\"]");
  if (!args.site.empty()) throw ValueError("train --role central: --site is for --role site");
  if (args.check) {
    std::printf("%s", cfg.resolved.to_toml().c_str());
    std::printf("# train: config checks out for a central node of %zu site(s)\n", cfg.dist.sites.size());
    return 0;
  }
  RunDir dir = open_run_dir(args, cfg);  // before listening: a second central node on this folder goes no further
  dist::TrainOptions& o = cfg.options;
  const auto silence = o.timeout;  // dist.timeout_s: the links' silence limit
  o.timeout = dist::kWaitLong;  // a step waits as long as the sites compute: the links' heartbeats find dead peers
  set_numerics(o.numerics);
  dist::TcpCentralOptions co;
  co.listen = cfg.dist.listen;
  co.tls = tls_files(args, cfg, "central");
  co.sites = cfg.dist.sites;
  co.min_sites = cfg.dist.min_sites;
  co.timeout = silence;
  co.wire = o.wire_dtype;
  co.zstd = cfg.dist.zstd;
  co.batch_per_site = o.batch_per_site;
  co.crop = o.crop;
  co.log = log_line;
  dist::TcpCentralChannel channel(co, [&o](const dist::Hello& h, const std::vector<dist::Hello>& accepted) {
    return dist::hello_refusal(h, accepted, o);
  });
  std::printf("central: listening on port %u for site(s) %s\n", static_cast<unsigned>(channel.port()),
              [&] {
                std::string s;
                for (const auto& n : cfg.dist.sites) s += (s.empty() ? "" : ", ") + n;
                return s;
              }().c_str());
  std::fflush(stdout);
  const std::vector<std::string> joined = channel.wait_for_sites();
  const std::vector<dist::Hello> hellos = channel.hellos();
  const dist::Hello& h0 = hellos.at(0);
  if (cfg.generator.image_size == 0) {
    cfg.generator.image_size = o.crop ? o.crop : h0.height;
    cfg.resolved.set("model.image_size", Json(cfg.generator.image_size), "from the sites' size / train.crop");
  }
  check_discriminator_depth(cfg, h0.height, h0.width);
  RunMeta meta;
  meta.condition_channels = h0.condition_channels;
  meta.image_channels = h0.image_channels;
  meta.height = h0.height;
  meta.width = h0.width;
  meta.config_toml = cfg.resolved.to_toml();
  const RunStart r = start_run(args, cfg, dir, meta.config_toml, hellos);

  manual_seed(o.seed);  // G's initial weights, as a simulation of the same config draws them
  auto g = generator_factory(cfg)(static_cast<int64_t>(h0.condition_channels.size()),
                                  static_cast<int64_t>(h0.image_channels.size()));
  dist::Central central(std::move(g), channel, o);
  central.on_event = log_line;
  central.set_membership(cfg.dist.min_sites, seconds(cfg.dist.reconnect_s));
  central.connect();
  if (args.resume) central.load_state(r.checkpoint, "central.");
  central.start();  // as a simulation does before its first step, so each step's byte counts agree
  Driver drive;
  drive.step = [&] {
    const dist::Traffic before = channel.traffic();
    central.begin_step();
    const dist::StepResult res = central.finish_step();
    return dist::step_report(central, res, before, channel.traffic());
  };
  drive.save = [&](Checkpoint& ckpt) {
    central.save_state(ckpt, "central.");
    central.request_checkpoint();  // each site saves its own state where it keeps it
  };
  drive.grids = [&](int64_t iteration) { write_central_grid(cfg.out_dir, central, cfg.sample_count, o.crop, iteration); };
  const int rc = train_loop(args, cfg, meta, r.start, central, drive);
  central.stop();
  return rc;
}

int run_site(const TrainArgs& args, TrainConfig& cfg) {
  if (args.site.empty()) throw ValueError("train --role site: name this site with --site NAME");
  if (cfg.shards.empty())
    throw ValueError("config: 'data.shards' is required at a site: its own shard, e.g. data.shards = \"prepared/SiteA.shard\"");
  std::shared_ptr<data::Shard> shard;
  std::string found;
  for (const std::string& path : shard_files(cfg.shards)) {
    auto s = data::Shard::open(path, /*verify_checksum=*/false);
    found += (found.empty() ? "" : ", ") + s->header().site;
    if (s->header().site == args.site) shard = data::Shard::open(path);
  }
  if (!shard) throw ValueError(msg("train --role site: no shard of site '", args.site, "' in data.shards (found: ", found, ")"));
  if (args.check) {
    std::printf("%s", cfg.resolved.to_toml().c_str());
    std::printf("# train: config and the shard of site '%s' check out\n", args.site.c_str());
    return 0;
  }
  const std::string& out = cfg.out_dir;
  const SiteParts parts = site_parts(cfg, shard->header());
  RunDir dir = open_run_dir(args, cfg);  // held while this process runs, across its reconnections
  clear_run_dir(args, cfg);
  dist::TrainOptions o = parts.options;
  o.timeout = dist::kWaitLong;  // the central node may wait long for other sites: the link's heartbeats find a dead one
  set_numerics(o.numerics);
  const uint64_t secret = site_secret(out);

  const data::ShardHeader& h = shard->header();
  const int64_t side_h = o.crop ? o.crop : h.height, side_w = o.crop ? o.crop : h.width;
  dist::TcpSiteOptions so;
  so.central = cfg.dist.central;
  so.tls = tls_files(args, cfg, args.site);
  so.site = args.site;
  so.timeout = cfg.options.timeout;
  so.reconnect = seconds(cfg.dist.reconnect_s);
  so.wire = o.wire_dtype;
  so.zstd = cfg.dist.zstd;
  so.max_message_bytes = static_cast<uint64_t>(o.batch_per_site) *
                             (static_cast<uint64_t>(h.image_channels.size() * side_h * side_w) * 4 + 17) +
                         (uint64_t{1} << 16);
  so.log = log_line;
  dist::TcpSiteChannel channel(so);

  JsonlWriter audit((fs::path(out) / "audit.jsonl").string());
  const dist::Site* audited = nullptr;  // set once the site exists: its policy's record joins each gradient sent
  channel.on_message = [&](const dist::AuditEntry& e) {
    Json rec = {{"time", utc_time_now()},
                {"dir", e.sent ? "sent" : "received"},
                {"type", dist::message_type_name(e.type)},
                {"step", e.step},
                {"bytes", e.bytes},
                {"dtype", dist::wire_dtype_name(o.wire_dtype)},
                {"tensors", e.tensors}};
    if (audited && e.sent && e.type == dist::MessageType::gradient) {
      rec["epsilon"] = audited->epsilon_spent();  // per sample, the most any has spent, after this answer
      rec["site_wide_epsilon"] = audited->site_wide_epsilon();
      rec["refused_rows"] = audited->refused_rows();  // over the run so far
    }
    audit.write(rec);
  };

  dist::Site site(shard, channel, o, parts.discriminator, secret, parts.modalities);
  audited = &site;
  site.on_event = log_line;
  if (dir.resume) site.load_state(dir.resume->checkpoint, "site.");
  if (site.num_samples() < o.batch_per_site)
    log_line(msg("train: WARNING: 'train.batch_per_site' = ", o.batch_per_site, " is more than site '", args.site,
                 "''s ", site.num_samples(), " training sample(s): each of its batches holds some samples more than once"));
  site.on_checkpoint = [&](int64_t step) {
    Checkpoint ckpt;
    site.save_state(ckpt, "site.");
    ckpt.meta["site"] = args.site;
    write_run_checkpoint(out, ckpt, step);
  };
  site.connect();
  std::printf("site %s: connected to the central node at %s; %lld training samples uploaded as condition maps\n",
              args.site.c_str(), cfg.dist.central.c_str(), static_cast<long long>(site.num_samples()));
  std::fflush(stdout);
  int64_t answered = 0;
  for (;;) {
    dist::Served s;
    try {
      s = site.serve_one();
    } catch (const dist::LinkLost& e) {
      // The connection failed under a running site: connect again (with backoff, up to dist.reconnect_s) and
      // say Hello again; the central node takes the site back between steps, and it keeps its discriminators.
      log_line(msg(e.what(), "; connecting again for up to ", cfg.dist.reconnect_s, " s (dist.reconnect_s)"));
      channel.reconnect();
      try {
        site.connect();
      } catch (const dist::LinkLost&) {
        continue;  // lost again at once: the next serve_one reports it and the site tries again
      }
      log_line(msg("site ", args.site, ": connected again; condition maps uploaded"));
      continue;
    }
    if (s == dist::Served::stop) break;
    if (s != dist::Served::request) continue;
    ++answered;
    const int64_t iteration = site.last_batch().step + 1;
    if (cfg.sample_every > 0 && iteration % cfg.sample_every == 0) write_site_grid(out, site, iteration);
  }
  channel.close();
  std::printf("site %s: the central node ended the run; %lld requests answered; audit log %s/audit.jsonl\n",
              args.site.c_str(), static_cast<long long>(answered), out.c_str());
  const dist::PrivacyOptions& q = site.policy().privacy;
  if (q.noisy() || site.refused_rows() > 0)
    std::printf("site %s: privacy: epsilon %.4g at delta %g per sample (the most any of its samples spent; sigma %.4g, clip %g), "
                "site-wide bound epsilon %.4g; %lld row(s) refused, %lld sample(s) with their budget spent\n",
                args.site.c_str(), site.epsilon_spent(), q.delta, q.sigma, q.clip, site.site_wide_epsilon(),
                static_cast<long long>(site.refused_rows()), static_cast<long long>(site.exhausted_samples()));
  return 0;
}

}  // namespace asyndgan::app
