// A deployment on loopback: `asyndgan certs`, one central process and three site processes over mutual TLS 1.3
// give the simulation's losses and generator weights bit for bit (fp32 and bf16 wire), each site keeps its audit
// log, and the central node writes no real image.
#include <doctest/doctest.h>
#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <thread>
#include "apps/io/jsonl.h"
#include "dist/net/tcp.h"
#include "dist/site_secret.h"
#include "engine/file_test_util.h"
#include "engine/io/checkpoint.h"
#include "train/metrics_lines.h"
#include "train/processes.h"

using namespace asyndgan;
namespace fs = std::filesystem;
using std::chrono::seconds;

namespace {

constexpr uint64_t kSeed = 5;
const std::vector<std::string> kSites = {"SiteA", "SiteB", "SiteC"};

// Three phantom sites at 32x32 (SiteC without T2), their certificates, and a run config.
struct Deployment {
  test::ScratchDir dir;
  std::string config, log;
  explicit Deployment(const std::string& name, const std::string& extra_config = "") : dir(name), config(dir.file("run.toml")), log(dir.file("log.txt")) {
    const auto ph = test::run_cli("phantom --out " + dir.file("phantom") + " --sites 3 --subjects-per-site 2 --size 40,40,16 "
                                  "--missing SiteC:t2", log);
    REQUIRE_MESSAGE(ph.code == 0, ph.output);
    const auto prep = test::run_cli("prepare --brats " + dir.file("phantom") + " --out " + dir.file("prepared") +
                                        " --size 32,32 --split 1,0,0 --min-tumor 5", log);
    REQUIRE_MESSAGE(prep.code == 0, prep.output);
    const auto certs = test::run_cli("certs --out " + dir.file("certs") + " --sites SiteA,SiteB,SiteC", log);
    REQUIRE_MESSAGE(certs.code == 0, certs.output);
    std::ofstream(config) << "[data]\nshards = \"" << dir.file("prepared") << "\"\n"
                          << "[model]\nngf = 8\nndf = 8\nnorm = \"instance\"\n"
                          << "[schedule]\nconstant = 3\ndecay = 3\n"
                          << "[train]\nbatch_per_site = 2\nflip = true\nseed = " << kSeed << "\n"
                          << "[dist]\nlisten = \"127.0.0.1:0\"\nsites = [\"SiteA\", \"SiteB\", \"SiteC\"]\ncerts = \""
                          << dir.file("certs") << "\"\ntimeout_s = 20\nreconnect_s = 20\n" << extra_config
                          << "[output]\nsample_every = 3\ncheckpoint_every = 3\n";
  }
  // Each site process gets the secret its simulated twin derives, so both draw the same keys.
  void give_simulation_secrets(const std::string& prefix) const {
    for (size_t j = 0; j < kSites.size(); ++j) {
      const std::string site_dir = dir.file(prefix + kSites[j]);
      fs::create_directories(site_dir);
      char hex[32];
      std::snprintf(hex, sizeof hex, "%016" PRIx64 "\n", dist::simulation_site_secret(kSeed, static_cast<int64_t>(j)));
      std::ofstream(site_dir + "/site_secret") << hex;
    }
  }
  test::CliResult simulate(const std::string& out, const std::string& extra = "") {
    return test::run_cli("train --config " + config + " --set output.dir=" + dir.file(out) + " " + extra, log);
  }
  // One site process per site, connecting to the central node at `port`, each in output dir prefix + site.
  std::vector<std::unique_ptr<test::Process>> start_sites(const std::string& port, const std::string& prefix = "",
                                                          const std::string& extra = "") const {
    std::vector<std::unique_ptr<test::Process>> sites;
    for (const auto& s : kSites)
      sites.push_back(std::make_unique<test::Process>("train --config " + config + " --role site --site " + s +
                                                          " --set dist.central=127.0.0.1:" + port + " --set output.dir=" +
                                                          dir.file(prefix + s) + " " + extra,
                                                      dir.file(prefix + s + ".log")));
    return sites;
  }
  // Central and sites as processes; returns the central's output, checking every process ended well.
  std::string deploy(const std::string& prefix, const std::string& extra = "") {
    test::Process central("train --config " + config + " --role central --set output.dir=" + dir.file(prefix + "central") + " " + extra,
                          dir.file(prefix + "central.log"));
    const std::string port = central.await("listening on port ([0-9]+)", seconds(30));
    REQUIRE_MESSAGE(!port.empty(), central.output());
    const auto sites = start_sites(port, prefix, extra);
    CHECK_MESSAGE(central.wait(seconds(120)) == 0, central.output());
    for (size_t j = 0; j < sites.size(); ++j) CHECK_MESSAGE(sites[j]->wait(seconds(30)) == 0, sites[j]->output());
    return central.output();
  }
};

// A free loopback port: bound, read back and released (another process could take it in between; none does here).
uint16_t free_port() {
  return net::Listener::bind(net::parse_endpoint("127.0.0.1:0")).port();
}

std::map<std::string, std::vector<double>> generator(const std::string& checkpoint) {
  std::map<std::string, std::vector<double>> g;
  for (const auto& [name, t] : load_checkpoint(checkpoint).tensors)
    if (name.rfind("central.g.", 0) == 0) g[name] = t.to_doubles();
  return g;
}

}  // namespace

TEST_CASE("deployment: 1 central + 3 site processes over TLS give the simulation's losses and weights bit for bit") {
  Deployment d("deploy_exact", "wire_dtype = \"fp32\"\n");
  REQUIRE(d.simulate("sim").code == 0);
  d.give_simulation_secrets("");
  const std::string central_log = d.deploy("");
  CHECK(central_log.find("site 'SiteC'") != std::string::npos);
  const auto sim = test::losses(d.dir.file("sim/metrics.jsonl")), dep = test::losses(d.dir.file("central/metrics.jsonl"));
  REQUIRE(sim.size() == 6);
  REQUIRE(dep.size() == 6);
  for (size_t i = 0; i < sim.size(); ++i) CHECK_MESSAGE(sim[i] == dep[i], "simulation " << sim[i] << "\ndeployment " << dep[i]);
  const auto gs = generator(d.dir.file("sim/checkpoints/latest.ckpt")), gd = generator(d.dir.file("central/checkpoints/latest.ckpt"));
  REQUIRE(!gs.empty());
  CHECK(gs == gd);

  // Each site kept its own state, grid and audit log; the central node's grid has no real image column.
  for (const auto& s : kSites) {
    CHECK(fs::exists(d.dir.file(s + "/checkpoints/latest.ckpt")));
    CHECK(fs::exists(d.dir.file(s + "/samples/iter_000003.png")));
    const auto audit = test::run_cli("audit " + d.dir.file(s + "/audit.jsonl"), d.log);
    CHECK_MESSAGE(audit.code == 0, audit.output);
    CHECK(audit.output.find("gradient") != std::string::npos);
    CHECK(audit.output.find("x6 ") != std::string::npos);  // six gradients (and six requests)
  }
  CHECK(!fs::exists(d.dir.file("central/sites")));
  const Checkpoint site = load_checkpoint(d.dir.file("SiteA/checkpoints/latest.ckpt"));
  for (const auto& [name, t] : site.tensors) CHECK_MESSAGE(name.rfind("site.", 0) == 0, name);
}

TEST_CASE("deployment: at bf16 on the wire the processes still match the bf16 simulation bit for bit") {
  Deployment d("deploy_bf16", "wire_dtype = \"bf16\"\ncompress = \"zstd\"\n");
  REQUIRE(d.simulate("sim").code == 0);
  d.give_simulation_secrets("");
  d.deploy("");
  CHECK(test::losses(d.dir.file("sim/metrics.jsonl")) == test::losses(d.dir.file("central/metrics.jsonl")));
  CHECK(generator(d.dir.file("sim/checkpoints/latest.ckpt")) == generator(d.dir.file("central/checkpoints/latest.ckpt")));
}

TEST_CASE("deployment: sites started before the central node keep trying with backoff, then train") {
  Deployment d("deploy_early", "wire_dtype = \"fp32\"\n");
  const std::string port = std::to_string(free_port());
  const auto sites = d.start_sites(port);
  CHECK(sites[0]->await("retrying in", seconds(20)) != "");  // the central node is not there yet
  test::Process central("train --config " + d.config + " --role central --set dist.listen=127.0.0.1:" + port +
                            " --set output.dir=" + d.dir.file("central"),
                        d.dir.file("central.log"));
  CHECK_MESSAGE(central.wait(seconds(120)) == 0, central.output());
  for (auto& s : sites) CHECK_MESSAGE(s->wait(seconds(30)) == 0, s->output());
}

TEST_CASE("deployment: a site that falls silent is reported and dropped, and a run that needs it stops with its name") {
  Deployment d("deploy_silent", "wire_dtype = \"fp32\"\n");
  test::Process central("train --config " + d.config + " --role central --set dist.timeout_s=2 --set schedule.constant=10000 "
                        "--set dist.reconnect_s=3 --set output.dir=" + d.dir.file("central"),
                        d.dir.file("central.log"));
  const std::string port = central.await("listening on port ([0-9]+)", seconds(30));
  REQUIRE(!port.empty());
  const auto sites = d.start_sites(port, "", "--set dist.timeout_s=2 --set dist.reconnect_s=3");
  REQUIRE(central.await("(iter [0-9]+)", seconds(60)) != "");
  sites[1]->signal(SIGSTOP);  // SiteB hangs: its process neither answers nor closes its connection
  const int code = central.wait(seconds(60));
  sites[1]->signal(SIGCONT);
  CHECK(code == 1);
  const std::string out = central.output();
  CHECK_MESSAGE(out.find("site 'SiteB'") != std::string::npos, out);
  CHECK_MESSAGE(out.find("silent for") != std::string::npos, out);
  // dist.min_sites = 0: the run needs all three; it waited dist.reconnect_s for SiteB, then stopped naming it.
  CHECK_MESSAGE(out.find("site(s) 'SiteB' left the run and did not rejoin within 3 s") != std::string::npos, out);
  // The other sites end too (the central node is gone) rather than hang.
  for (size_t j : {size_t{0}, size_t{2}}) CHECK(sites[j]->wait(seconds(30)) != -2);
  CHECK(sites[1]->wait(seconds(30)) != -2);
}

TEST_CASE("deployment: a site lost mid-run leaves it, the others go on, and it rejoins by itself, and SIGTERM ends the run "
          "with a checkpoint") {
  Deployment d("deploy_rejoin", "wire_dtype = \"fp32\"\n");
  test::Process central("train --config " + d.config + " --role central --set dist.timeout_s=2 --set dist.min_sites=2 "
                        "--set schedule.constant=100000 --set output.sample_every=0 --set output.checkpoint_every=0 "
                        "--set output.dir=" + d.dir.file("central"),
                        d.dir.file("central.log"));
  const std::string port = central.await("listening on port ([0-9]+)", seconds(30));
  REQUIRE(!port.empty());
  const auto sites = d.start_sites(port);
  REQUIRE(central.await("(iter [0-9]+)", seconds(60)) != "");
  // SiteB hangs past the central node's dist.timeout_s: it is dropped, and two of three sites are enough.
  sites[1]->signal(SIGSTOP);
  const std::string left = central.await("site 'SiteB' left the run at step ([0-9]+)", seconds(30));
  REQUIRE_MESSAGE(!left.empty(), central.output());
  // Going on: the run is not waiting for SiteB.
  CHECK_MESSAGE(central.await("(sites go on)", seconds(5)) != "", central.output());
  sites[1]->signal(SIGCONT);  // it finds its connection closed, connects again and says Hello again
  const std::string back = central.await("site 'SiteB' rejoined the run at step ([0-9]+)", seconds(60));
  REQUIRE_MESSAGE(!back.empty(), central.output());
  CHECK(std::stoll(back) > std::stoll(left));
  CHECK_MESSAGE(sites[1]->await("(connected again)", seconds(10)) != "", sites[1]->output());
  // Let it answer a few requests, then stop the run as a scheduler would.
  const auto served_after = [&] {
    int64_t n = 0;
    for (const Json& r : read_jsonl(d.dir.file("central/metrics.jsonl")).records)
      if (r["iter"].get<int64_t>() > std::stoll(back) && r["sites"]["SiteB"]["participated"].get<bool>()) ++n;
    return n;
  };
  for (int i = 0; i < 500 && served_after() < 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  central.signal(SIGTERM);
  CHECK_MESSAGE(central.wait(seconds(60)) == 128 + SIGTERM, central.output());
  CHECK_MESSAGE(central.output().find("stopped by SIGTERM after iteration") != std::string::npos, central.output());
  CHECK(fs::exists(d.dir.file("central/checkpoints/latest.ckpt")));
  for (size_t j = 0; j < sites.size(); ++j) CHECK_MESSAGE(sites[j]->wait(seconds(30)) == 0, sites[j]->output());

  // The metrics: one line per iteration, no gap; SiteB out of the steps while it was gone, in them after.
  const auto records = read_jsonl(d.dir.file("central/metrics.jsonl")).records;
  REQUIRE(!records.empty());
  int64_t expect = 1, without = 0;
  for (const Json& r : records) {
    CHECK(r["iter"].get<int64_t>() == expect++);
    const bool b = r["sites"]["SiteB"]["participated"].get<bool>();
    if (!b) ++without;
    if (r["iter"].get<int64_t>() > std::stoll(left) + 1 && r["iter"].get<int64_t>() <= std::stoll(back)) CHECK_FALSE(b);
    CHECK_MESSAGE(r["sites"]["SiteA"]["participated"].get<bool>(), dump_json(r) << "\n" << central.output());
    // The update weighs the sites that answered: their weights add up to 1 with or without SiteB.
    double weights = 0;
    for (const auto& site : kSites) weights += r["sites"][site]["weight"].get<double>();
    CHECK(weights == doctest::Approx(1.0));
  }
  CHECK(without > 0);
  CHECK(served_after() >= 3);
  // SiteB's audit log: two Hellos and two uploads, one per connection.
  const auto audit = test::run_cli("audit " + d.dir.file("SiteB/audit.jsonl"), d.log);
  CHECK_MESSAGE(audit.code == 0, audit.output);
  int64_t hellos = 0;
  for (const Json& r : read_jsonl(d.dir.file("SiteB/audit.jsonl")).records) hellos += r["type"] == "hello" ? 1 : 0;
  CHECK(hellos == 2);
}

TEST_CASE("deployment: sites under differential privacy report their epsilon to the central node, in their audit logs and output") {
  Deployment d("deploy_privacy");
  // The sites' own settings; the central node needs none of them (it learns them from each Hello).
  const std::string central_log =
      d.deploy("dp_", "--set site.privacy.clip=1 --set site.privacy.sigma=1.5 --set site.privacy.drop_l1=true");
  CHECK_MESSAGE(central_log.find("train: privacy: site 'SiteA': epsilon") != std::string::npos, central_log);
  const JsonlContents m = read_jsonl(d.dir.file("dp_central/metrics.jsonl"));
  REQUIRE(m.records.size() == 6);
  const Json& last = m.records.back();
  CHECK(last.at("epsilon").get<double>() > 0);
  CHECK(last.at("sites").at("SiteA").at("g_loss").is_null());  // the site kept its statistics
  for (const auto& s : kSites) {
    std::ifstream in(d.dir.file("dp_" + s + ".log"));
    const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_MESSAGE(out.find("privacy: epsilon") != std::string::npos, out);
    const auto audit = test::run_cli("audit " + d.dir.file("dp_" + s + "/audit.jsonl"), d.log);
    CHECK_MESSAGE(audit.code == 0, audit.output);
    CHECK_MESSAGE(audit.output.find("privacy: the gradients sent were noised to epsilon") != std::string::npos, audit.output);
  }
}
