// `asyndgan complete`: for each subject of one site of a BraTS directory, the modalities it lacks written as
// NIfTI volumes that the trained generator makes from its label map (on the subject's grid and affine).
#include <cstdio>
#include <filesystem>
#include <CLI/CLI.hpp>
#include "apps/commands.h"
#include "apps/label_volumes.h"
#include "apps/run_checkpoint.h"
#include "apps/synth_inputs.h"
#include "data/dataset.h"
#include "data/nifti.h"
#include "base/error.h"
#include "engine/io/names.h"

namespace asyndgan::app {
namespace fs = std::filesystem;

namespace {

// What the command line gives.
struct CompleteArgs {
  std::string checkpoint, brats, site, out, sites_csv, config, prepare, device = "cpu";
};

}  // namespace

int run_complete(const CompleteArgs& a) {
  const std::string &site = a.site, &out = a.out;
  const data::Dataset ds = data::scan_brats(a.brats, a.sites_csv);
  std::vector<const data::Subject*> subjects;
  for (const auto& s : ds.subjects)
    if (s.site == site) subjects.push_back(&s);
  if (subjects.empty()) {
    std::string known;
    for (const auto& s : ds.sites()) known += (known.empty() ? "" : ", ") + s;
    throw ValueError(msg("complete: no subject of site '", site, "' in ", a.brats, " (sites: ", known, ")"));
  }
  const LoadedGenerator g = load_generator(a.checkpoint, a.config, resolve_device(a.device));
  const PreparedFormat f = prepared_format(g, a.prepare);
  const std::vector<std::string>& mods = g.meta.image_channels;
  const auto M = static_cast<int64_t>(mods.size());
  int written = 0, complete_already = 0;
  for (const data::Subject* s : subjects) {
    std::vector<size_t> missing;
    for (size_t m = 0; m < mods.size(); ++m)
      if (!s->modality_paths.count(mods[m])) missing.push_back(m);
    if (missing.empty()) {
      ++complete_already;
      continue;
    }
    SubjectVolumes vols;
    for (const auto& m : mods) {
      auto it = s->modality_paths.find(m);
      vols.volumes.push_back(it == s->modality_paths.end() ? nullptr : std::make_unique<data::Volume>(data::read_nifti(it->second)));
    }
    const SubjectSynthesis syn = synthesize_subject(*g.net, f, s->label_path, vols, g.meta);
    const int64_t hw = syn.in.height * syn.in.width;
    const fs::path dir = path_inside(out, s->id);
    fs::create_directories(dir);
    std::string names;
    for (size_t m : missing) {
      const data::Volume v = restack(syn.fake.data() + static_cast<int64_t>(m) * hw, M * hw, f, syn.in);
      data::write_nifti(path_inside(dir.string(), s->id + "_" + mods[m] + ".nii.gz"), v);
      names += (names.empty() ? "" : ", ") + mods[m];
      ++written;
    }
    std::printf("complete: %s: wrote %s (%lld slices, generated from %s)\n", s->id.c_str(), names.c_str(),
                static_cast<long long>(syn.in.slices), s->label_path.c_str());
  }
  std::printf("complete: site %s: %zu subject(s), %d volume(s) written to %s, %d subject(s) had every modality\n",
              site.c_str(), subjects.size(), written, out.c_str(), complete_already);
  return 0;
}

Verb add_complete(CLI::App& cli) {
  auto o = std::make_shared<CompleteArgs>();
  CLI::App* cmd = cli.add_subcommand("complete", "write a site's missing modalities as NIfTI volumes generated from its label maps");
  cmd->footer("Writes <out>/<subject>/<subject>_<modality>.nii.gz for every modality a subject of SITE lacks, in the\n"
              "prepared intensity scale, on the subject's own grid and affine.");
  cmd->add_option("--checkpoint", o->checkpoint, "a checkpoint of 'asyndgan train'")->required();
  cmd->add_option("--brats", o->brats, "the BraTS directory holding the site's subjects")->required();
  cmd->add_option("--site", o->site, "the site whose subjects to complete, e.g. SiteC")->required();
  cmd->add_option("--out", o->out, "the directory to write to")->required();
  cmd->add_option("--sites-csv", o->sites_csv, "a subject,site CSV instead of name_mapping.csv");
  cmd->add_option("--config", o->config, "the run's config.toml (default: the one beside the checkpoint, else its own copy)");
  cmd->add_option("--prepare", o->prepare, "the prepare.json of the prepared data (default: the one the checkpoint carries)");
  cmd->add_option("--device", o->device, "cpu, cuda or cuda:N");
  return {cmd, [o] { return run_complete(*o); }};
}

}  // namespace asyndgan::app
