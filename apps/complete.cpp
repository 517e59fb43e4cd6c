// `asyndgan complete`: for each subject of one site of a BraTS directory, the modalities it lacks written as
// NIfTI volumes that the trained generator makes from its label map (on the subject's grid and affine).
#include <cstdio>
#include <filesystem>
#include "apps/args.h"
#include "apps/commands.h"
#include "apps/label_volumes.h"
#include "apps/run_checkpoint.h"
#include "apps/synth_inputs.h"
#include "data/dataset.h"
#include "data/nifti.h"
#include "base/error.h"

namespace asyndgan::app {
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: asyndgan complete --checkpoint CKPT --brats DIR --site SITE --out DIR [--sites-csv F] [--config "
    "RUN/config.toml] [--prepare prepare.json] [--device cpu|cuda|cuda:N]\n"
    "  Writes <out>/<subject>/<subject>_<modality>.nii.gz for every modality a subject of SITE lacks, in the\n"
    "  prepared intensity scale, on the subject's own grid and affine.";

}  // namespace

int run_complete(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::printf("%s\n", kUsage);
      return 0;
    }
  Args a(argc, argv,
         {"--checkpoint", "--brats", "--site", "--out", "--sites-csv", "--config", "--prepare", "--device"});
  const std::string site = a.required("--site"), out = a.required("--out");
  const data::Dataset ds = data::scan_brats(a.required("--brats"), a.str("--sites-csv", ""));
  std::vector<const data::Subject*> subjects;
  for (const auto& s : ds.subjects)
    if (s.site == site) subjects.push_back(&s);
  if (subjects.empty()) {
    std::string known;
    for (const auto& s : ds.sites()) known += (known.empty() ? "" : ", ") + s;
    throw ValueError(msg("complete: no subject of site '", site, "' in ", a.required("--brats"), " (sites: ", known, ")"));
  }
  const LoadedGenerator g = load_generator(a.required("--checkpoint"), a.str("--config", ""),
                                             resolve_device(a.str("--device", "cpu")));
  const PreparedFormat f = prepared_format(g, a.str("--prepare", ""));
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
    const fs::path dir = fs::path(out) / s->id;
    fs::create_directories(dir);
    std::string names;
    for (size_t m : missing) {
      const data::Volume v = restack(syn.fake.data() + static_cast<int64_t>(m) * hw, M * hw, f, syn.in);
      data::write_nifti((dir / (s->id + "_" + mods[m] + ".nii.gz")).string(), v);
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

}  // namespace asyndgan::app
