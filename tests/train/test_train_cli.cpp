// The training CLI end to end on a tiny phantom (2 sites at 32x32, SiteB without T2, U-Net ngf 8 / PatchGAN
// ndf 8): train's outputs, config errors, bit-identical --resume, synth's volumes and scores, complete.
#include <doctest/doctest.h>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include "data/cli_util.h"
#include "train/metrics_lines.h"
#include "data/nifti.h"
#include "data/shard_forge.h"
#include "engine/file_test_util.h"
#include "engine/io/checkpoint.h"
#include "apps/io/jsonl.h"
#include "apps/io/tensorboard.h"
#include "apps/io/toml.h"
#include "train/processes.h"
#include "train/tiny_run.h"

using namespace asyndgan;
using asyndgan::test::losses;
using asyndgan::test::TinyRun;
namespace fs = std::filesystem;

namespace {

// A PNG file's width and height from its IHDR chunk, which the format puts first.
std::pair<uint32_t, uint32_t> png_size(const std::string& path) {
  const std::vector<char> png = test::read_bytes(path);
  REQUIRE(png.size() > 24);
  REQUIRE(std::string(png.begin() + 1, png.begin() + 4) == "PNG");
  REQUIRE(std::string(png.begin() + 12, png.begin() + 16) == "IHDR");
  const auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(png[at + i]);
    return v;
  };
  return {be32(16), be32(20)};
}

}  // namespace

TEST_CASE("train: a tiny run writes config.toml, metrics.jsonl, TensorBoard events, sample grids and checkpoints") {
  TinyRun run("train_cli_outputs");
  const auto r = run.train();
  INFO(r.output);
  REQUIRE(r.code == 0);
  const std::string out = run.dir.file("out");
  CHECK(r.output.find("iter 8/8") != std::string::npos);  // not a terminal: plain log lines

  const TomlConfig cfg = read_toml_file(out + "/config.toml");
  CHECK(cfg.find("model.ngf")->value == 8);
  CHECK(cfg.find("model.image_size")->value == 32);  // resolved from the shards
  CHECK(cfg.find("loss.lambda_l1")->value == 100.0);  // a default, recorded

  const auto metrics = read_jsonl(out + "/metrics.jsonl").records;
  REQUIRE(metrics.size() == 8);
  for (int i = 0; i < 8; ++i) CHECK(metrics[static_cast<size_t>(i)].at("iter") == i + 1);
  const Json& m = metrics.back();
  for (const char* k : {"lr_g", "lr_d", "g_loss", "d_loss", "d_real", "d_fake", "images_per_s"}) CHECK_MESSAGE(m.contains(k), k);
  CHECK(m.at("lr_g").get<double>() == doctest::Approx(2e-4 / 5));  // pix2pix decay: last of 4 decay steps
  for (const char* site : {"SiteA", "SiteB"}) {
    REQUIRE(m.at("sites").contains(site));
    const Json& s = m.at("sites").at(site);
    for (const char* k : {"d_loss", "g_gan", "g_l1", "g_loss", "d_real", "d_fake", "weight"}) CHECK_MESSAGE(s.contains(k), k);
    CHECK(s.at("bytes").at("request").get<int64_t>() > 0);
    CHECK(s.at("bytes").at("gradient").get<int64_t>() > 0);
  }

  std::vector<std::string> events;
  for (const auto& e : fs::directory_iterator(out + "/tb")) events.push_back(e.path().string());
  REQUIRE(events.size() == 1);
  std::set<std::string> tags;
  std::set<int64_t> steps;
  for (const auto& s : read_tensorboard_scalars(events[0])) tags.insert(s.tag), steps.insert(s.step);
  CHECK(tags.count("loss/g_loss"));
  CHECK(tags.count("site/g_l1/SiteB"));
  CHECK(tags.count("bytes/SiteA/gradient"));
  CHECK(steps == std::set<int64_t>{1, 2, 3, 4, 5, 6, 7, 8});

  // The central node's grid, which holds no real image: 4 rows (2 uploaded conditions per site) of 5 columns
  // (condition, then the fake of 4 modalities) of 32x32 cells, under a header row of two text lines ("t1ce fake"
  // wraps in 32 pixels: 2 * 7 + 1 + 2 * 2 tall) and right of a label column as wide as "SiteA" (29 + 2), each
  // label area with its separator line.
  const auto [width, height] = png_size(out + "/samples/iter_000004.png");
  CHECK(width == 31 + 1 + 5 * 33 - 1);
  CHECK(height == 19 + 1 + 4 * 33 - 1);
  CHECK(fs::exists(out + "/samples/iter_000008.png"));
  // Each site's own grid, where the site keeps its files: its last batch as condition | real | fake per modality.
  for (const char* site : {"SiteA", "SiteB"}) {
    const std::string grid = out + "/sites/" + site + "/samples/iter_000004.png";
    REQUIRE_MESSAGE(fs::exists(grid), grid);
    CHECK(png_size(grid).first == 31 + 1 + 9 * 33 - 1);
  }
  for (const char* c : {"iter_000003.ckpt", "iter_000006.ckpt", "iter_000008.ckpt", "latest.ckpt"})
    CHECK_MESSAGE(fs::exists(out + "/checkpoints/" + c), c);
  CHECK(load_checkpoint(out + "/checkpoints/latest.ckpt").meta.at("train.iteration") == "8");

  const auto again = run.train();  // the same output.dir without --resume
  CHECK(again.code != 0);
  CHECK(again.output.find("--resume") != std::string::npos);
}

TEST_CASE("train: unknown keys and bad values are errors naming the key and where it was set") {
  test::ScratchDir dir("train_cli_errors");
  const std::string cfg = dir.file("bad.toml"), log = dir.file("log.txt");
  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[model]\nngf = 8\ngenerater = \"unet\"\n";
  auto r = test::run_cli("train --config " + cfg, log);
  CHECK(r.code != 0);
  CHECK(r.output.find("bad.toml:5") != std::string::npos);
  CHECK(r.output.find("'model.generater' is not a train setting") != std::string::npos);
  CHECK(r.output.find("model.generator") != std::string::npos);  // the known keys are listed

  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[train]\nbatch_per_site = 0\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.output.find("bad.toml:4: 'train.batch_per_site' is out of range: got 0, allowed >= 1") != std::string::npos);

  // malformed TOML: the file, line and column, and what toml++ found
  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[model]\nnorm = instance\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.code != 0);
  CHECK(r.output.find("bad.toml:4:") != std::string::npos);
  CHECK(r.output.find("strings need quotes: \"instance\"") != std::string::npos);
  std::ofstream(cfg) << "[data]\nshards = [\"a\",\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.code != 0);
  CHECK(r.output.find("bad.toml:2:") != std::string::npos);
  CHECK(r.output.find("parsing array") != std::string::npos);

  // a value of the wrong type names the key, where it was set and what it takes
  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[model]\nngf = \"8\"\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.output.find("bad.toml:4: 'model.ngf' takes an integer, got \"8\"") != std::string::npos);

  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n";
  r = test::run_cli("train --config " + cfg + " --set model.norm=layer", log);
  CHECK(r.output.find("--set model.norm=layer: 'model.norm' must be one of batch, instance") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set loss.lambda_l1=\\\"big\\\"", log);
  CHECK(r.output.find("'loss.lambda_l1' takes a number") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set optim.g.beta1=1.0", log);
  CHECK(r.output.find("--set optim.g.beta1=1.0: 'optim.g.beta1' is out of range: got 1.0, allowed 0 <= value < 1") !=
        std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set model.ngf", log);
  CHECK(r.code != 0);
  CHECK(r.output.find("--set model.ngf: expected key=value") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set 'model.ngf=[8,'", log);
  CHECK(r.output.find("--set model.ngf=[8,: malformed value") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set 'model..ngf=8'", log);
  CHECK(r.output.find("malformed key 'model..ngf'") != std::string::npos);
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.code != 0);
  CHECK(r.output.find("'data.shards'") != std::string::npos);
  CHECK(r.output.find("nowhere") != std::string::npos);

  std::ofstream(cfg) << "[model]\nngf = 8\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.output.find("'data.shards' is required") != std::string::npos);
}

TEST_CASE("train: a site's privacy settings are checked where the config is read, naming the key and the fix") {
  test::ScratchDir dir("train_cli_privacy");
  const std::string cfg = dir.file("site.toml"), log = dir.file("log.txt");
  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n";
  auto r = test::run_cli("train --config " + cfg + " --set site.privacy.sigma=1", log);
  CHECK(r.code != 0);
  CHECK_MESSAGE(r.output.find("site.privacy.sigma is noise in units of the clipping norm: give site.privacy.clip") != std::string::npos,
                r.output);
  r = test::run_cli("train --config " + cfg + " --set site.privacy.epsilon=2", log);
  CHECK(r.output.find("give site.privacy.sigma (the noise) or site.privacy.answers") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set site.privacy.clip=1 --set site.privacy.sigma=1 --set site.privacy.epsilon=2 "
                    "--set site.privacy.answers=4", log);
  CHECK(r.output.find("'site.privacy.answers' and 'site.privacy.sigma' both set the noise") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set site.privacy.delta=1.5", log);
  CHECK(r.output.find("'site.privacy.delta' is out of range") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set site.privacy.clip=-1", log);
  CHECK(r.output.find("'site.privacy.clip' is out of range") != std::string::npos);
  r = test::run_cli("train --config " + cfg + " --set site.privacy.nois=1", log);
  CHECK(r.output.find("'site.privacy.nois' is not a train setting") != std::string::npos);
  CHECK(r.output.find("site.privacy.sigma") != std::string::npos);  // the known keys are listed
  // A budget too small for any noise to certify is refused, naming the key.
  r = test::run_cli("train --config " + cfg + " --set site.privacy.clip=1 --set site.privacy.epsilon=0.01 --set site.privacy.answers=1",
                    log);
  CHECK_MESSAGE(r.output.find("site.privacy.epsilon") != std::string::npos, r.output);
}

TEST_CASE("train: train.device and train.precision are checked, and a missing GPU is said once, not fatal") {
  test::ScratchDir dir("train_cli_device");
  const std::string cfg = dir.file("dev.toml"), log = dir.file("log.txt");
  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[train]\ndevice = \"cuda:7\"\n";
  auto r = test::run_cli("train --config " + cfg, log);
  CHECK(r.code != 0);
  CHECK(r.output.find("dev.toml:4: 'train.device' names no usable device") != std::string::npos);
  CHECK(r.output.find("cuda:7") != std::string::npos);

  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[train]\ndevice = \"tpu\"\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.output.find("'train.device' names no usable device") != std::string::npos);

  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[train]\nprecision = \"bf16\"\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.output.find("dev.toml:4: 'train.precision' = \"bf16\" needs a CUDA device") != std::string::npos);
  CHECK(r.output.find("set train.device = \"cuda\" or train.precision = \"fp32\"") != std::string::npos);

  std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[train]\nprecision = \"fp16\"\n";
  r = test::run_cli("train --config " + cfg, log);
  CHECK(r.code != 0);
  CHECK(r.output.find("dev.toml:4: 'train.precision' must be one of fp32, bf16, got \"fp16\"") != std::string::npos);

  if (cuda_device_count() == 0) {
    // "cuda" without a GPU runs on the CPU and says so; the run then fails later, on the missing shards.
    std::ofstream(cfg) << "[data]\nshards = \"nowhere\"\n[train]\ndevice = \"cuda\"\n";
    r = test::run_cli("train --config " + cfg, log);
    CHECK(r.output.find("running on the CPU") != std::string::npos);
    CHECK(r.output.find("names no usable device") == std::string::npos);
    CHECK(r.output.find("nowhere") != std::string::npos);
  }
}

TEST_CASE("train: --stop-at then --resume gives the metrics and weights of an uninterrupted run, bit for bit") {
  TinyRun run("train_cli_resume");
  const std::string straight = run.dir.file("straight"), split = run.dir.file("split");
  REQUIRE(run.train("--set output.dir=" + straight).code == 0);
  const auto first = run.train("--set output.dir=" + split + " --stop-at 5");  // checkpoints at 3 and at 5
  INFO(first.output);
  REQUIRE(first.code == 0);
  CHECK(first.output.find("stopped after 5 of 8") != std::string::npos);
  // Metrics logged past the checkpoint (as by a run killed after iteration 5) must be dropped on resume.
  const auto second = run.train("--set output.dir=" + split + " --resume");
  INFO(second.output);
  REQUIRE(second.code == 0);
  const auto a = losses(straight + "/metrics.jsonl"), b = losses(split + "/metrics.jsonl");
  REQUIRE(a.size() == 8);
  CHECK(a == b);
  const Checkpoint ca = load_checkpoint(straight + "/checkpoints/latest.ckpt");
  const Checkpoint cb = load_checkpoint(split + "/checkpoints/latest.ckpt");
  REQUIRE(ca.tensors.size() == cb.tensors.size());
  for (const auto& [name, t] : ca.tensors) {
    const Tensor& u = cb.tensors.at(name);
    REQUIRE(t.numel() == u.numel());
    CHECK_MESSAGE(std::memcmp(t.raw_data(), u.raw_data(), static_cast<size_t>(t.nbytes())) == 0, name);
  }

  const auto changed = run.train("--set output.dir=" + split + " --resume --set model.ngf=4");
  CHECK(changed.code != 0);
  CHECK(changed.output.find("'model.ngf' differs") != std::string::npos);
}

TEST_CASE("train: --stop-at 0 leaves a checkpoint of the untrained state, and resuming from it matches a straight run") {
  TinyRun run("train_cli_stop0");
  const std::string straight = run.dir.file("straight"), split = run.dir.file("split");
  REQUIRE(run.train("--set output.dir=" + straight).code == 0);
  const auto zero = run.train("--set output.dir=" + split + " --stop-at 0");
  INFO(zero.output);
  REQUIRE(zero.code == 0);
  CHECK(std::filesystem::exists(split + "/checkpoints/iter_000000.ckpt"));
  REQUIRE(run.train("--set output.dir=" + split + " --resume").code == 0);
  CHECK(losses(straight + "/metrics.jsonl") == losses(split + "/metrics.jsonl"));
}

TEST_CASE("synth: label volumes -> synthetic NIfTI with the source affine, previews, PSNR and SSIM, complete fills SiteB's T2") {
  TinyRun run("synth_cli");
  REQUIRE(run.train("--set schedule.constant=2 --set schedule.decay=0").code == 0);
  const std::string ckpt = run.dir.file("out/checkpoints/latest.ckpt"), syn = run.dir.file("syn");
  const std::string subject = "BraTS20_Training_001", seg = run.phantom + "/" + subject + "/" + subject + "_seg.nii.gz";
  const auto r = test::run_cli("synth --checkpoint " + ckpt + " --labels " + seg + " --out " + syn, run.log);
  INFO(r.output);
  REQUIRE(r.code == 0);
  const data::Volume src = data::read_nifti(seg);
  for (const char* m : {"t1", "t1ce", "t2", "flair"}) {
    const data::Volume v = data::read_nifti(syn + "/" + subject + "_" + m + "_synth.nii.gz");
    CHECK(v.dims == src.dims);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) CHECK(v.affine[i][j] == doctest::Approx(src.affine[i][j]).epsilon(1e-6));
    CHECK(std::all_of(v.voxels.begin(), v.voxels.end(), [](float x) { return x >= -1.0f && x <= 1.0f; }));
  }
  const auto [width, height] = png_size(syn + "/" + subject + "_preview.png");
  // One row (the slice with the most tumor) labelled "slice N", at most one cell (32 + 2 * 1) wide, under
  // the same two-line header as the training grids.
  CHECK(width == 34 + 1 + 9 * 33 - 1);
  CHECK(height == 19 + 1 + 32);
  for (const char* m : {"t1 ", "t2 ", "flair "}) CHECK_MESSAGE(r.output.find(std::string("  ") + m) != std::string::npos, m);
  CHECK(r.output.find("PSNR") != std::string::npos);
  CHECK(r.output.find("SSIM") != std::string::npos);
  const std::vector<char> bytes = test::read_bytes(syn + "/synth_metrics.json");
  const Json scores = parse_json(std::string(bytes.begin(), bytes.end()), "synth_metrics.json");
  CHECK(scores.at("t2").at("psnr").get<double>() > 0);

  const auto shards = test::run_cli("synth --checkpoint " + ckpt + " --shards " + run.prepared + " --split val --out " + run.dir.file("syn2"), run.log);
  INFO(shards.output);
  CHECK(shards.code == 0);
  CHECK(shards.output.find("PSNR") != std::string::npos);

  // A shard whose subject id is a path (an older prepare's, forged here with a valid checksum) is refused
  // before synth writes <id>_t1_synth.nii.gz outside --out.
  fs::create_directories(run.dir.file("forged"));
  const std::string forged = run.dir.file("forged/SiteA.shard");
  fs::copy_file(run.prepared + "/SiteA.shard", forged);
  REQUIRE(test::forge_shard_text(forged, subject, "../../x_Training_001"));
  const auto escape = test::run_cli("synth --checkpoint " + ckpt + " --shards " + forged + " --out " + run.dir.file("syn3"), run.log);
  CHECK(escape.code != 0);
  CHECK(escape.output.find("subject id '../../x_Training_001' contains '/'") != std::string::npos);
  CHECK(!fs::exists(run.dir.dir.parent_path() / "x_Training_001_t1_synth.nii.gz"));
  CHECK(!fs::exists(run.dir.dir.parent_path() / "x_Training_001_preview.png"));

  const std::string done = run.dir.file("completed");
  const auto c = test::run_cli("complete --checkpoint " + ckpt + " --brats " + run.phantom + " --site SiteB --out " + done, run.log);
  INFO(c.output);
  REQUIRE(c.code == 0);
  int written = 0;
  for (const auto& e : fs::directory_iterator(run.phantom)) {
    const std::string id = e.path().filename().string();
    if (!e.is_directory()) continue;
    const bool lacks_t2 = !fs::exists(e.path() / (id + "_t2.nii.gz"));
    CHECK(fs::exists(done + "/" + id + "/" + id + "_t2.nii.gz") == lacks_t2);
    CHECK(!fs::exists(done + "/" + id + "/" + id + "_t1.nii.gz"));
    if (!lacks_t2) continue;
    const data::Volume t2 = data::read_nifti(done + "/" + id + "/" + id + "_t2.nii.gz");
    CHECK(t2.dims == data::read_nifti((e.path() / (id + "_seg.nii.gz")).string()).dims);
    ++written;
  }
  CHECK(written == 3);
  const auto a = test::run_cli("complete --checkpoint " + ckpt + " --brats " + run.phantom + " --site SiteA --out " + done, run.log);
  CHECK(a.code == 0);
  CHECK(a.output.find("0 volume(s) written") != std::string::npos);
  const auto none = test::run_cli("complete --checkpoint " + ckpt + " --brats " + run.phantom + " --site SiteZ --out " + done, run.log);
  CHECK(none.code != 0);
  CHECK(none.output.find("SiteA, SiteB") != std::string::npos);
}

TEST_CASE("train: configs/example.toml names only real keys and checks out against prepared shards") {
  TinyRun run("train_cli_example");
  const std::string example = std::string(ASYNDGAN_GOLDEN_DIR) + "/../../configs/example.toml";
  const auto r = test::run_cli("train --config " + example + " --set data.shards=" + run.prepared + " --check", run.log);
  INFO(r.output);
  CHECK(r.code == 0);
  CHECK(r.output.find("2 shard(s) check out") != std::string::npos);
}

TEST_CASE("train: SIGTERM stops the run after the iteration with a checkpoint, and --resume continues bit for bit") {
  TinyRun run("train_cli_sigterm");
  const std::string cut = run.dir.file("cut"), straight = run.dir.file("straight");
  const std::string longer = " --set schedule.constant=100000 --set output.checkpoint_every=0 --set output.sample_every=0";
  test::Process p("train --config " + run.config + longer + " --set output.dir=" + cut, run.dir.file("cut.log"));
  REQUIRE(p.await("(iter [0-9]+)", std::chrono::seconds(60)) != "");
  p.signal(SIGTERM);
  REQUIRE_MESSAGE(p.wait(std::chrono::seconds(60)) == 128 + SIGTERM, p.output());
  const std::string at = p.await("stopped by SIGTERM after iteration ([0-9]+)", std::chrono::seconds(1));
  REQUIRE_MESSAGE(!at.empty(), p.output());
  const int64_t n = std::stoll(at);
  CHECK(static_cast<int64_t>(losses(cut + "/metrics.jsonl").size()) == n);
  CHECK(fs::exists(cut + "/checkpoints/iter_" + [&] {
    char b[16];
    std::snprintf(b, sizeof b, "%06lld", static_cast<long long>(n));
    return std::string(b);
  }() + ".ckpt"));
  const std::string to = " --stop-at " + std::to_string(n + 2);
  const auto resumed = run.train(longer + " --set output.dir=" + cut + " --resume" + to);
  REQUIRE_MESSAGE(resumed.code == 0, resumed.output);
  REQUIRE(run.train(longer + " --set output.dir=" + straight + to).code == 0);
  const auto a = losses(straight + "/metrics.jsonl"), b = losses(cut + "/metrics.jsonl");
  CHECK(static_cast<int64_t>(a.size()) == n + 2);
  CHECK(a == b);
}

TEST_CASE("train: a loss that turns non-finite stops the run naming the step and the site, and writes no checkpoint of it") {
  TinyRun run("train_cli_nonfinite");
  const std::string out = run.dir.file("out");
  // Learning rates that blow the weights up in the first step; a checkpoint every iteration would follow it.
  const auto bad = run.train("--set output.dir=" + out + " --set optim.d.lr=1e20 --set optim.g.lr=1e20 "
                             "--set output.checkpoint_every=1");
  CHECK(bad.code == 1);
  CHECK_MESSAGE(bad.output.find("': step 0: not finite: ") != std::string::npos, bad.output);
  CHECK_MESSAGE(bad.output.find("site 'Site") != std::string::npos, bad.output);
  CHECK_FALSE(fs::exists(out + "/checkpoints/latest.ckpt"));
  CHECK_FALSE(fs::exists(out + "/checkpoints/iter_000001.ckpt"));
}
