// The run folder of `asyndgan train`: one run per output.dir (the lock, refused and stale holders), --resume's
// choice of checkpoint (latest, else the highest iter_N that verifies and holds finite values), a used folder
// refused without --resume or --overwrite, leftover temporaries, and the config checks made before anything is
// written.
#include <doctest/doctest.h>
#include <unistd.h>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include "apps/io/jsonl.h"
#include "data/cli_util.h"
#include "engine/io/checkpoint.h"
#include "train/metrics_lines.h"
#include "train/processes.h"
#include "train/tiny_run.h"

using namespace asyndgan;
using asyndgan::test::TinyRun;
using std::chrono::seconds;
namespace fs = std::filesystem;

namespace {

// A run that lasts until it is stopped, checkpointing every 3 iterations.
const std::string kLong = " --set schedule.constant=100000 --set output.sample_every=0 --set output.log_every=1";

std::vector<int64_t> iterations(const std::string& metrics) {
  std::vector<int64_t> its;
  for (const Json& r : read_jsonl(metrics).records) its.push_back(r.at("iter").get<int64_t>());
  return its;
}

std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

std::string host() {
  char b[256] = {};
  gethostname(b, sizeof b - 1);
  return b;
}

bool same_tensors(const std::string& a, const std::string& b) {
  const Checkpoint x = load_checkpoint(a), y = load_checkpoint(b);
  if (x.tensors.size() != y.tensors.size()) return false;
  for (const auto& [name, t] : x.tensors) {
    if (!y.tensors.count(name)) return false;
    if (t.to_doubles() != y.tensors.at(name).to_doubles()) return false;
  }
  return true;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("train: two trains started at once in one output.dir, one is refused naming the holder, and so is --resume") {
  TinyRun run("run_dir_two");
  const std::string out = run.dir.file("out");
  test::Process a("train --config " + run.config + kLong, run.dir.file("a.log"));
  test::Process b("train --config " + run.config + kLong, run.dir.file("b.log"));
  test::Process* loser = nullptr;
  for (auto end = std::chrono::steady_clock::now() + seconds(60); !loser && std::chrono::steady_clock::now() < end;) {
    if (!a.await("(in use by another run)", seconds(1)).empty()) loser = &a;
    else if (!b.await("(in use by another run)", seconds(1)).empty()) loser = &b;
  }
  REQUIRE_MESSAGE(loser, a.output() << "\n" << b.output());
  test::Process& winner = loser == &a ? b : a;
  CHECK(loser->wait(seconds(30)) == 1);
  const std::string refused = loser->output();
  CHECK_MESSAGE(has(refused, "pid "), refused);
  CHECK_MESSAGE(has(refused, "on host " + host() + " since "), refused);
  CHECK_MESSAGE(has(refused, out + "/.lock"), refused);
  REQUIRE_MESSAGE(winner.await("(iter [0-9]+)", seconds(60)) != "", winner.output());

  const auto resume = run.train(kLong + " --resume");  // while the run goes on
  CHECK(resume.code != 0);
  CHECK_MESSAGE(has(resume.output, "in use by another run"), resume.output);
  CHECK_MESSAGE(has(resume.output, "kill -TERM "), resume.output);

  winner.signal(SIGTERM);
  REQUIRE_MESSAGE(winner.wait(seconds(60)) == 128 + SIGTERM, winner.output());
  const auto its = iterations(out + "/metrics.jsonl");
  CHECK(its == one_to(static_cast<int64_t>(its.size())));  // one run's metrics, none lost, none twice
  // Released at exit: the next --resume takes the folder without a word about a stale lock.
  const auto next = run.train(kLong + " --resume --stop-at " + std::to_string(its.size() + 1));
  CHECK_MESSAGE(next.code == 0, next.output);
  CHECK(!has(next.output, "took over"));
}

TEST_CASE("train: a run killed with kill -9 leaves a lock that --resume takes over, and no duplicate or missing metrics") {
  TinyRun run("run_dir_kill");
  const std::string out = run.dir.file("out");
  test::Process p("train --config " + run.config + kLong, run.dir.file("p.log"));
  REQUIRE_MESSAGE(p.await("checkpoint [^ ]*(iter_000006)", seconds(60)) != "", p.output());
  REQUIRE_MESSAGE(p.await("(iter 7/)", seconds(60)) != "", p.output());  // metrics past the checkpoint
  p.signal(SIGKILL);
  CHECK(p.wait(seconds(30)) == 128 + SIGKILL);
  const auto n = static_cast<int64_t>(iterations(out + "/metrics.jsonl").size());
  REQUIRE(n >= 7);
  CHECK(has(test::read_text_file(out + "/.lock"), "pid "));  // never released
  std::ofstream(out + "/checkpoints/latest.ckpt.tmp.999999") << "half a checkpoint";
  std::ofstream(out + "/metrics.jsonl.tmp.999999") << "{";

  const auto r = run.train(kLong + " --resume --stop-at " + std::to_string(n + 3));
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "took over the lock " + out + "/.lock of pid "));
  CHECK(has(r.output, "(no longer running)"));
  CHECK(has(r.output, "removed 2 temporary file(s)"));
  CHECK(!fs::exists(out + "/checkpoints/latest.ckpt.tmp.999999"));
  CHECK(!fs::exists(out + "/metrics.jsonl.tmp.999999"));
  CHECK(iterations(out + "/metrics.jsonl") == one_to(n + 3));
  CHECK(test::read_text_file(out + "/.lock").empty());  // released at exit
}

TEST_CASE("train --resume: without latest.ckpt it takes the highest iter_N that verifies, says so, and matches a straight run") {
  TinyRun run("run_dir_fallback");
  const std::string out = run.dir.file("out"), straight = run.dir.file("straight");
  REQUIRE(run.train("--set output.dir=" + straight).code == 0);
  REQUIRE(run.train("--stop-at 5").code == 0);  // checkpoints 3 and 5
  fs::remove(out + "/checkpoints/latest.ckpt");  // what a full disk or an early kill leaves
  std::ofstream(out + "/checkpoints/iter_000007.ckpt") << "not a checkpoint";
  std::ofstream(out + "/metrics.jsonl", std::ios::app) << "{\"iter\": 6}\n{\"iter\": 7}\n";  // logged before the kill

  const auto r = run.train("--resume");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "skipped " + out + "/checkpoints/iter_000007.ckpt"));
  CHECK(has(r.output, "continuing from " + out + "/checkpoints/iter_000005.ckpt"));
  CHECK(test::losses(out + "/metrics.jsonl") == test::losses(straight + "/metrics.jsonl"));
  CHECK(same_tensors(out + "/checkpoints/latest.ckpt", straight + "/checkpoints/latest.ckpt"));

  // Nothing that verifies: the error lists each file and what is wrong with it.
  for (const auto& e : fs::directory_iterator(out + "/checkpoints")) std::ofstream(e.path()) << "x";
  const auto none = run.train("--resume");
  CHECK(none.code != 0);
  CHECK_MESSAGE(has(none.output, "no checkpoint in " + out + "/checkpoints loads and verifies"), none.output);
  CHECK(has(none.output, out + "/checkpoints/iter_000003.ckpt"));
}

TEST_CASE("train: a folder that holds a run is refused without --resume, and --overwrite starts over") {
  TinyRun run("run_dir_used");
  const std::string out = run.dir.file("out");
  REQUIRE(run.train("--stop-at 5").code == 0);
  auto again = run.train();
  CHECK(again.code != 0);
  CHECK_MESSAGE(has(again.output, out + " already holds a run"), again.output);
  CHECK(has(again.output, "--resume"));
  CHECK(has(again.output, "--overwrite"));
  fs::rename(out + "/checkpoints", run.dir.file("saved"));  // metrics alone are a run too
  again = run.train();
  CHECK_MESSAGE(has(again.output, out + " already holds a run"), again.output);
  fs::remove_all(out + "/checkpoints");  // (only when a run was wrongly let in)
  fs::rename(run.dir.file("saved"), out + "/checkpoints");
  CHECK(iterations(out + "/metrics.jsonl") == one_to(5));  // untouched
  CHECK(fs::exists(out + "/checkpoints/iter_000005.ckpt"));

  const auto both = run.train("--resume --overwrite");
  CHECK(both.code != 0);
  CHECK_MESSAGE(has(both.output, "excludes"), both.output);

  std::ofstream(out + "/notes.txt") << "mine";
  const auto over = run.train("--overwrite --stop-at 4");
  INFO(over.output);
  REQUIRE(over.code == 0);
  CHECK(has(over.output, "--overwrite: removed checkpoints, metrics.jsonl, tb, samples, sites, config.toml from " + out));
  CHECK(iterations(out + "/metrics.jsonl") == one_to(4));
  CHECK(!fs::exists(out + "/checkpoints/iter_000005.ckpt"));
  CHECK(fs::exists(out + "/notes.txt"));  // only the run's own files go
}

TEST_CASE("train: a checkpoint with a NaN is refused naming the tensor and the file, and --resume falls back to a good one") {
  TinyRun run("run_dir_nan");
  const std::string out = run.dir.file("out");
  REQUIRE(run.train("--stop-at 5").code == 0);
  Checkpoint ckpt = load_checkpoint(out + "/checkpoints/latest.ckpt");
  std::string poisoned;
  for (auto& [name, t] : ckpt.tensors)
    if (name.rfind("central.g.", 0) == 0 && t.dtype() == DType::f32) {
      t.data<float>()[1] = std::nanf("");
      poisoned = name;
      break;
    }
  REQUIRE(!poisoned.empty());
  save_checkpoint(out + "/checkpoints/latest.ckpt", ckpt);  // a valid checksum over a NaN
  save_checkpoint(out + "/checkpoints/iter_000005.ckpt", ckpt);

  const auto synth = test::run_cli("synth --checkpoint " + out + "/checkpoints/latest.ckpt --shards " + run.prepared +
                                       " --split val --out " + run.dir.file("syn"),
                                   run.log);
  CHECK(synth.code != 0);
  CHECK_MESSAGE(has(synth.output, out + "/checkpoints/latest.ckpt: tensor '" + poisoned + "' holds NaN"), synth.output);

  const auto r = run.train("--resume");
  INFO(r.output);
  REQUIRE(r.code == 0);
  CHECK(has(r.output, "skipped " + out + "/checkpoints/latest.ckpt: tensor '" + poisoned + "' holds NaN"));
  CHECK(has(r.output, "continuing from " + out + "/checkpoints/iter_000003.ckpt"));
  CHECK(iterations(out + "/metrics.jsonl") == one_to(8));
}

TEST_CASE("train: config values are checked before anything is written, with the key in the message") {
  TinyRun run("run_dir_config");
  const std::string out = run.dir.file("out");
  auto r = run.train("--set model.d_layers=4");  // 32 -> 2x2 after four halvings: no room for the 4x4 convs
  CHECK(r.code != 0);
  CHECK_MESSAGE(has(r.output, "'model.d_layers' = 4 is too deep for 32x32 samples"), r.output);
  CHECK(has(r.output, "set model.d_layers <= 3"));
  CHECK(!fs::exists(out));
  r = run.train("--set model.d_layers=3 --set train.crop=16");
  CHECK_MESSAGE(has(r.output, "'model.d_layers' = 3 is too deep for 16x16 crops (train.crop)"), r.output);

  r = run.train("--set output.dir=" + run.config + "/out");  // under a file: cannot be created
  CHECK(r.code != 0);
  CHECK_MESSAGE(has(r.output, "'output.dir' = \"" + run.config + "/out\" cannot be created"), r.output);

  r = run.train("--stop-at -1");
  CHECK(r.code != 0);
  CHECK(has(r.output, "--stop-at: must be an integer >= 0"));

  r = run.train("--set train.batch_per_site=200 --stop-at 0");
  CHECK_MESSAGE(r.code == 0, r.output);
  for (const char* site : {"SiteA", "SiteB"})
    CHECK_MESSAGE(has(r.output, std::string("'train.batch_per_site' = 200 is more than site '") + site + "''s"), r.output);

  REQUIRE(run.train("--overwrite --stop-at 5").code == 0);
  r = run.train("--resume --set schedule.constant=2 --set schedule.decay=2");
  CHECK(r.code != 0);
  CHECK_MESSAGE(has(r.output, "'schedule.constant' + 'schedule.decay' = 4 iteration(s), fewer than the 5 the run has done"),
                r.output);
  r = run.train("--resume --stop-at 4");
  CHECK(r.code != 0);
  CHECK_MESSAGE(has(r.output, "--stop-at 4 is before the 5 iteration(s) the run has done"), r.output);
  CHECK(iterations(out + "/metrics.jsonl") == one_to(5));  // neither touched the run
}

TEST_CASE("train --role central and --role site: a second process on the same output.dir is refused") {
  TinyRun run("run_dir_roles");
  const std::string site_dir = run.dir.file("SiteA"), central_dir = run.dir.file("central");
  // No central node listens on port 1: the site keeps retrying, holding its folder.
  const std::string site = "train --config " + run.config + " --role site --site SiteA --insecure --set dist.central=127.0.0.1:1 "
                           "--set dist.reconnect_s=60 --set output.dir=" + site_dir;
  test::Process first(site, run.dir.file("site1.log"));
  REQUIRE_MESSAGE(first.await("(retrying in)", seconds(30)) != "", first.output());
  test::Process second(site, run.dir.file("site2.log"));  // a process, so that a second site that runs is stopped
  CHECK(second.wait(seconds(30)) == 1);
  CHECK_MESSAGE(has(second.output(), "'output.dir' = \"" + site_dir + "\" is in use by another run"), second.output());

  // Processes take their arguments without a shell: the quotes stay.
  const std::string central = "train --config " + run.config + " --role central --insecure --set dist.listen=127.0.0.1:0 "
                              "--set dist.sites=[\"SiteA\"] --set output.dir=" + central_dir;
  test::Process c(central, run.dir.file("central1.log"));
  REQUIRE_MESSAGE(c.await("listening on port ([0-9]+)", seconds(30)) != "", c.output());
  test::Process c2(central, run.dir.file("central2.log"));
  CHECK(c2.wait(seconds(30)) == 1);
  CHECK_MESSAGE(has(c2.output(), "'output.dir' = \"" + central_dir + "\" is in use by another run"), c2.output());
  CHECK_MESSAGE(!has(c2.output(), "listening"), c2.output());
}
