// `asyndgan synth`: a trained generator on label maps, from prepared shards or from NIfTI label volumes, to
// synthetic NIfTI volumes and PNG previews, with PSNR/SSIM per modality where real images are at hand.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <CLI/CLI.hpp>
#include "apps/cli_options.h"
#include "apps/commands.h"
#include "apps/image_quality.h"
#include "apps/io/grid.h"
#include "apps/label_volumes.h"
#include "apps/run_checkpoint.h"
#include "apps/synth_inputs.h"
#include "apps/train_outputs.h"
#include "data/nifti.h"
#include "data/shard.h"
#include "base/error.h"
#include "engine/io/file_io.h"
#include "engine/io/names.h"
#include "engine/io/text.h"

namespace asyndgan::app {
namespace fs = std::filesystem;
namespace {

constexpr const char* kAbout =
    "Writes <out>/<subject>_<modality>_synth.nii.gz per subject and modality, <out>/<subject>_preview.png\n"
    "(condition | real | synthetic per modality) and, with real images, PSNR/SSIM per modality to stdout\n"
    "and <out>/synth_metrics.json. --labels keeps each label volume's grid and affine; the subject's\n"
    "modality volumes (next to the label map, or in --real-dir) give the brain mask and the real images.\n"
    "Shards hold 2-D samples without geometry: their volumes stack the prepared slices with a unit affine.";

// What the command line gives: --shards and --labels lists joined over their repeats.
struct SynthArgs {
  std::string checkpoint, out, config, prepare, real_dir, split = "all", device = "cpu";
  std::vector<std::string> shards, labels;
};

// One preview: rows of condition | real | synthetic per modality, each row labelled with its name.
void write_preview(const std::string& path, const std::vector<const float*>& conds, const std::vector<const float*>& reals,
                   const std::vector<const float*>& synths, const std::vector<std::vector<uint8_t>>& has,
                   const std::vector<std::string>& row_names, const LoadedGenerator& g, int h, int w) {
  const auto M = g.meta.image_channels.size();
  std::vector<Image8> tiles;
  for (size_t r = 0; r < conds.size(); ++r) {
    tiles.push_back(condition_tile(conds[r], g.meta.condition_channels, h, w));
    for (size_t m = 0; m < M; ++m) {
      const size_t P = static_cast<size_t>(h) * static_cast<size_t>(w);
      tiles.push_back(reals[r] && has[r][m] ? image_from_floats(reals[r] + m * P, 1, h, w) : Image8(w, h, 1, 0));
      tiles.push_back(image_from_floats(synths[r] + m * P, 1, h, w));
    }
  }
  std::string cols = "condition";
  for (const auto& m : g.meta.image_channels) cols += " | " + m + " real | " + m + " synthetic";
  write_png(path, labeled_grid(tiles, static_cast<int>(1 + 2 * M), grid_column_names(g.meta.image_channels), row_names),
            {{"Description", "columns: " + cols}});
}

int synth_labels(const SynthArgs& a, const LoadedGenerator& g, const std::string& out) {
  const PreparedFormat f = prepared_format(g, a.prepare);
  const auto M = static_cast<int64_t>(g.meta.image_channels.size());
  QualityTally tally(g.meta.image_channels, f.options.norm == data::Normalization::percentile ? 2.0 : 0.0);
  int written = 0;
  for (const std::string& label : a.labels) {
    const std::string subject = subject_of_label(label);
    const std::string dir = a.real_dir.empty() ? fs::path(label).parent_path().string() : a.real_dir;
    SubjectVolumes vols = find_modalities(dir, subject, g.meta.image_channels);
    const SubjectSynthesis s = synthesize_subject(*g.net, f, label, vols, g.meta);
    const int64_t hw = s.in.height * s.in.width;
    std::vector<std::vector<float>> reals(static_cast<size_t>(M));
    for (int64_t m = 0; m < M; ++m) {
      const data::Volume v = restack(s.fake.data() + m * hw, M * hw, f, s.in);
      write_nifti(path_inside(out, subject + "_" + g.meta.image_channels[static_cast<size_t>(m)] + "_synth.nii.gz"), v);
      ++written;
      if (!vols.volumes[static_cast<size_t>(m)]) continue;
      reals[static_cast<size_t>(m)] = prepared_planes(f, *vols.volumes[static_cast<size_t>(m)], s.in);
      for (int64_t z = 0; z < s.in.slices; ++z) {
        const uint8_t* brain = s.in.brain_planes.data() + z * hw;
        if (std::none_of(brain, brain + hw, [](uint8_t b) { return b != 0; })) continue;  // no brain: nothing to judge
        tally.add(static_cast<size_t>(m), reals[static_cast<size_t>(m)].data() + z * hw, s.fake.data() + (z * M + m) * hw,
                  static_cast<int>(s.in.height), static_cast<int>(s.in.width), brain);
      }
    }
    // Preview: the slice with the most tumor, real planes gathered per modality into one [M][h][w] block.
    const int64_t z = std::max_element(s.in.tumor.begin(), s.in.tumor.end()) - s.in.tumor.begin();
    std::vector<float> real_block(static_cast<size_t>(M * hw), 0.0f);
    std::vector<uint8_t> has(static_cast<size_t>(M), 0);
    for (int64_t m = 0; m < M; ++m)
      if (!reals[static_cast<size_t>(m)].empty()) {
        std::copy_n(reals[static_cast<size_t>(m)].data() + z * hw, hw, real_block.data() + m * hw);
        has[static_cast<size_t>(m)] = 1;
      }
    write_preview(path_inside(out, subject + "_preview.png"), {s.in.condition.data() + z * s.in.channels * hw},
                  {real_block.data()}, {s.fake.data() + z * M * hw}, {has}, {msg("slice ", z)}, g,
                  static_cast<int>(s.in.height), static_cast<int>(s.in.width));
    std::printf("synth: %s: %lld slices -> %lld volumes (affine of %s)\n", subject.c_str(),
                static_cast<long long>(s.in.slices), static_cast<long long>(M), label.c_str());
  }
  std::printf("synth: wrote %d NIfTI volumes to %s\nquality (prepared scale, slices with brain):\n%s", written,
              out.c_str(), tally.report().c_str());
  write_text_file((fs::path(out) / "synth_metrics.json").string(), dump_json(tally.to_json()) + "\n");
  return 0;
}

int synth_shards(const SynthArgs& a, const LoadedGenerator& g, const std::string& out) {
  const std::optional<data::Split> split = parse_split_option(a.split);
  std::optional<PreparedFormat> f;
  if (!g.meta.prepare_json.empty() || !a.prepare.empty()) f = prepared_format(g, a.prepare);
  const bool zscore = f && f->options.norm == data::Normalization::zscore;
  const auto M = static_cast<int64_t>(g.meta.image_channels.size());
  QualityTally tally(g.meta.image_channels, zscore ? 0.0 : 2.0);
  int written = 0;
  for (const std::string& path : shard_files(a.shards)) {
    const auto shard = data::Shard::open(path);
    const data::ShardHeader& h = shard->header();
    if (h.condition_channels != g.meta.condition_channels || h.image_channels != g.meta.image_channels)
      throw ValueError(msg(path, ": its channels are not those the generator was trained on"));
    const int64_t C = static_cast<int64_t>(h.condition_channels.size()), H = h.height, W = h.width, hw = H * W;
    // Samples per subject, slices ascending: each subject becomes one stack.
    std::map<std::string, std::vector<int64_t>> subjects;
    for (int64_t i = 0; i < shard->size(); ++i) {
      const data::SampleInfo& s = h.samples[static_cast<size_t>(i)];
      if (!split || s.split == *split) subjects[s.subject].push_back(i);
    }
    for (auto& [subject, idx] : subjects) {
      std::sort(idx.begin(), idx.end(), [&](int64_t x, int64_t y) { return h.samples[x].slice < h.samples[y].slice; });
      const auto n = static_cast<int64_t>(idx.size());
      std::vector<float> cond(static_cast<size_t>(n * C * hw)), real(static_cast<size_t>(n * M * hw));
      for (int64_t k = 0; k < n; ++k) {
        shard->read_condition(idx[k], cond.data() + k * C * hw);
        shard->read_image(idx[k], real.data() + k * M * hw);
      }
      const std::vector<float> fake = run_generator(*g.net, cond, n, C, H, W, M);
      for (int64_t m = 0; m < M; ++m) {
        data::Volume v = data::make_volume({W, H, n});
        for (int64_t k = 0; k < n; ++k) std::copy_n(fake.data() + (k * M + m) * hw, hw, v.voxels.data() + k * hw);
        write_nifti(path_inside(out, subject + "_" + h.image_channels[static_cast<size_t>(m)] + "_synth.nii.gz"), v);
        ++written;
        for (int64_t k = 0; k < n; ++k)
          if (h.samples[idx[k]].available >> m & 1u)
            tally.add(static_cast<size_t>(m), real.data() + (k * M + m) * hw, fake.data() + (k * M + m) * hw,
                      static_cast<int>(H), static_cast<int>(W));
      }
      const int64_t k = n / 2;
      std::vector<uint8_t> has(static_cast<size_t>(M));
      for (int64_t m = 0; m < M; ++m) has[static_cast<size_t>(m)] = h.samples[idx[k]].available >> m & 1u;
      write_preview(path_inside(out, subject + "_preview.png"), {cond.data() + k * C * hw},
                    {real.data() + k * M * hw}, {fake.data() + k * M * hw}, {has}, {msg("slice ", h.samples[idx[k]].slice)}, g,
                    static_cast<int>(H), static_cast<int>(W));
    }
    std::printf("synth: %s: %zu subject(s)\n", path.c_str(), subjects.size());
  }
  std::printf("synth: wrote %d NIfTI volumes to %s\nquality (prepared scale, every sample with the modality):\n%s",
              written, out.c_str(), tally.report().c_str());
  write_text_file((fs::path(out) / "synth_metrics.json").string(), dump_json(tally.to_json()) + "\n");
  return 0;
}

}  // namespace

int run_synth(const SynthArgs& a) {
  if (a.shards.empty() == a.labels.empty()) throw ValueError("synth: give either --shards or --labels");
  const std::string& out = a.out;
  const LoadedGenerator g = load_generator(a.checkpoint, a.config, resolve_device(a.device));
  fs::create_directories(out);
  std::printf("synth: generator of iteration %lld (%s, config %s)\n", static_cast<long long>(g.meta.iteration),
              g.config.generator.kind.c_str(), g.config_source.c_str());
  return a.labels.empty() ? synth_shards(a, g, out) : synth_labels(a, g, out);
}

Verb add_synth(CLI::App& cli) {
  auto o = std::make_shared<SynthArgs>();
  CLI::App* cmd = cli.add_subcommand("synth", "synthesize NIfTI volumes and previews from a generator checkpoint and label maps");
  cmd->footer(kAbout);
  cmd->add_option("--checkpoint", o->checkpoint, "a checkpoint of 'asyndgan train'")->required();
  CLI::Option* shards = add_list(*cmd, "--shards", o->shards, "prepared shards: directories or .shard files (repeatable)");
  add_list(*cmd, "--labels", o->labels, "NIfTI label volumes, e.g. SEG.nii.gz (repeatable)")->excludes(shards);
  cmd->add_option("--out", o->out, "the directory to write to")->required();
  cmd->add_option("--config", o->config, "the run's config.toml (default: the one beside the checkpoint, else its own copy)");
  cmd->add_option("--prepare", o->prepare, "the prepare.json of the prepared data (default: the one the checkpoint carries)");
  cmd->add_option("--real-dir", o->real_dir, "with --labels: where the subjects' modality volumes are (default: next to each label map)")
      ->excludes(shards);
  cmd->add_option("--split", o->split, "with --shards: synthesize the samples of this split only, or all")
      ->check(CLI::IsMember({"train", "val", "test", "all"}));
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N");
  return {cmd, [o] { return run_synth(*o); }};
}

}  // namespace asyndgan::app
