// The phantom's anatomy: a head with scalp and skull, a brain with folded cortex, white matter, deep grey
// nuclei, ventricles and CSF, and a tumor (necrosis, enhancing rim, edema), all drawn from (seed, site, subject).
#include <algorithm>
#include <cmath>
#include "data/phantom.h"
#include "data/phantom_random.h"

namespace asyndgan::data {

using namespace phantom_detail;

namespace {

struct Vec3 {
  double x, y, z;
};
double norm(const Vec3& v) { return std::sqrt(v.x * v.x + v.y * v.y + v.z * v.z); }

// Shapes are laid out in "head units" (u: the head ellipsoid is the unit ball) and "brain units" (v = u / b:
// the unfolded brain surface is near the unit sphere); per-axis scaling keeps them inside any volume shape.
struct SubjectShape {
  Vec3 center, half;            // head centre and semi-axes, in voxels
  double brain_scale;           // b: brain radius in head units
  double skull_in, scalp_in;    // shell radii in head units (skull from skull_in, scalp from scalp_in)
  double voxel;                 // one voxel in brain units (mean over the axes)
  double cortex;                // grey-matter ribbon thickness, brain units
  double sulcus_depth, sulcus_half_width, fissure_half_width;
  double vent_offset, vent_size;  // lateral ventricles: distance from the midline, enlargement
  Vec3 tumor;                   // tumor centre, brain units
  double r_necrosis, r_core, r_edema;
  double rim_min;               // the enhancing rim is at least this thick (about one voxel), brain units
};

SubjectShape draw_shape(const PhantomOptions& opt, int site, int subject) {
  Stream s(opt.seed, Purpose::shape, static_cast<uint32_t>(site), static_cast<uint32_t>(subject));
  const auto& n = opt.size;
  SubjectShape sh{};
  // At 240x240x155 the brain is about 130 x 160 x 115 mm, as in BraTS; the head may touch the lowest slices.
  sh.half = {0.35 * n[0] * (1 + 0.05 * s.symmetric()), 0.43 * n[1] * (1 + 0.04 * s.symmetric()),
             0.46 * n[2] * (1 + 0.04 * s.symmetric())};
  sh.center = {0.5 * (n[0] - 1) + 0.015 * n[0] * s.symmetric(), 0.5 * (n[1] - 1) + 0.015 * n[1] * s.symmetric(),
               0.48 * (n[2] - 1) + 0.01 * n[2] * s.symmetric()};
  sh.brain_scale = s.uniform(0.77, 0.80);
  sh.skull_in = s.uniform(0.845, 0.86);
  sh.scalp_in = sh.skull_in + s.uniform(0.06, 0.075);
  // One brain unit is this many voxels along the shortest axis; thin structures stay at least ~1 voxel.
  const double unit_vox = sh.brain_scale * std::min({sh.half.x, sh.half.y, sh.half.z});
  sh.voxel = (1.0 / sh.half.x + 1.0 / sh.half.y + 1.0 / sh.half.z) / (3.0 * sh.brain_scale);
  sh.cortex = std::max(s.uniform(0.045, 0.055), 1.3 / unit_vox);
  sh.sulcus_depth = s.uniform(0.16, 0.22);
  sh.sulcus_half_width = s.uniform(0.6, 0.8) * sh.voxel;
  sh.fissure_half_width = s.uniform(0.8, 1.1) * sh.voxel;
  sh.vent_offset = s.uniform(0.10, 0.13);
  sh.vent_size = s.uniform(0.8, 1.4);

  Stream t(opt.seed, Purpose::tumor, static_cast<uint32_t>(site), static_cast<uint32_t>(subject));
  // Proportions like BraTS high-grade gliomas: edema about half the whole tumor, the rest core.
  sh.r_core = std::max(t.uniform(0.18, 0.34), 3.5 / unit_vox);
  sh.r_necrosis = std::clamp(sh.r_core * t.uniform(0.45, 0.75), 1.0 / unit_vox, sh.r_core - 1.5 / unit_vox);
  sh.r_edema = std::max(sh.r_core * t.uniform(1.35, 1.85), sh.r_core + 2.5 / unit_vox);
  sh.rim_min = 1.0 / unit_vox;
  do sh.tumor = {t.symmetric() * 0.5, t.symmetric() * 0.5, t.symmetric() * 0.5};
  while (norm(sh.tumor) > 0.5);
  // Keep the core well inside the brain, whatever its size.
  const double room = std::max(0.0, 0.8 - 1.3 * sh.r_core);
  if (double d = norm(sh.tumor); d > room) {
    double k = d > 0 ? room / d : 0.0;
    sh.tumor = {sh.tumor.x * k, sh.tumor.y * k, sh.tumor.z * k};
  }
  return sh;
}

// Sulci follow the zero set of the fold noise, about one per lattice cell: cells of ~18 voxels on the brain
// surface put sulci about a centimetre apart at 1 mm, as in an adult brain.
int fold_cells(const SubjectShape& sh) {
  double mean_half = (sh.half.x + sh.half.y + sh.half.z) / 3.0;
  return std::clamp(static_cast<int>(std::lround(2.5 * sh.brain_scale * mean_half / 18.0)), 3, 24);
}

// Cortex within the folding band: CSF in a sulcus, grey matter within `cortex` of the surface or of a sulcus,
// white matter below. Sulci are thin slots along the zero set of noise taken near the unit sphere (at the
// voxel's direction, moving inward slower than the voxel), so they run inward like real ones, bending a
// little, to a depth that varies along them. The distance to a slot is |n| / |tangential grad n| scaled by
// the radius, so slots and their grey lining keep their widths wherever the noise is steep or flat.
Tissue cortex_tissue(const Vec3& v, double s, const SubjectShape& sh, const GradientNoise& folds,
                     const SmoothNoise& depth_noise) {
  const double len = norm(v), k = 0.4 + 0.6 * len;  // k < len: sulci bend a little on their way in
  const Vec3 d{v.x / len, v.y / len, v.z / len};
  float g[3];
  const double n = std::abs(folds.value_and_gradient(k * d.x, k * d.y, k * d.z, g));
  const double radial = g[0] * d.x + g[1] * d.y + g[2] * d.z;
  const Vec3 gt{g[0] - radial * d.x, g[1] - radial * d.y, g[2] - radial * d.z};
  const double across = n / std::max(norm(gt), 1e-9) * len / k, depth = 1.0 - s;
  const double sulcus = sh.sulcus_depth * (1.0 + 0.8 * depth_noise(d.x, d.y, d.z));
  if (depth < sulcus && across < sh.sulcus_half_width) return Tissue::csf;
  if (depth < sh.cortex || (depth < sulcus + sh.cortex && across < sh.sulcus_half_width + sh.cortex))
    return Tissue::grey;
  return Tissue::white;
}

// The interhemispheric fissure: a midline slot from the top down to the corpus callosum (deeper at the
// frontal and occipital poles), lined with grey matter. csf, grey, or background when not in it.
Tissue fissure_tissue(const Vec3& v, const SubjectShape& sh) {
  const double floor = 0.25 - 0.8 * v.y * v.y, ax = std::abs(v.x);
  if (ax < sh.fissure_half_width && v.z > floor) return Tissue::csf;
  if (ax < sh.fissure_half_width + sh.cortex && v.z > floor - sh.cortex) return Tissue::grey;
  return Tissue::background;
}

bool in_ventricle(const Vec3& v, const SubjectShape& sh) {
  // Lateral ventricles: two ellipsoids bent into an arch over the thalami, tapering front and back.
  const double ay = 0.42, az = 0.075 * sh.vent_size, ax0 = 0.055 * sh.vent_size;
  double ty = v.y / ay;
  if (std::abs(ty) < 1.0) {
    double zc = 0.12 - 0.55 * v.y * v.y, ax = ax0 * (1.0 - 0.4 * ty * ty);
    double dz = (v.z - zc) / az;
    for (double side : {-1.0, 1.0}) {
      double dx = (v.x - side * sh.vent_offset) / ax;
      if (dx * dx + ty * ty + dz * dz < 1.0) return true;
    }
  }
  // Third ventricle: a thin midline slit.
  double tx = v.x / 0.02, t3y = (v.y + 0.05) / 0.16, t3z = v.z / 0.12;
  return tx * tx + t3y * t3y + t3z * t3z < 1.0;
}

bool in_deep_grey(const Vec3& v) {
  for (double side : {-1.0, 1.0}) {
    double dx = (v.x - side * 0.2) / 0.11, dy = (v.y - 0.05) / 0.18, dz = (v.z + 0.05) / 0.13;
    if (dx * dx + dy * dy + dz * dz < 1.0) return true;
  }
  return false;
}

}  // namespace

std::vector<uint8_t> phantom_tissue(const PhantomOptions& opt, int site, int subject) {
  const SubjectShape sh = draw_shape(opt, site, subject);
  const uint32_t a = static_cast<uint32_t>(site), b = static_cast<uint32_t>(subject);
  const SmoothNoise brain_noise(stream_key(opt.seed, Purpose::brain_noise, a, b), 3);
  const GradientNoise fold_noise(stream_key(opt.seed, Purpose::fold_noise, a, b), fold_cells(sh));
  const SmoothNoise depth_noise(stream_key(opt.seed, Purpose::fold_depth, a, b), 6);
  const SmoothNoise necrosis_noise(stream_key(opt.seed, Purpose::tumor_noise, a, 3 * b), 4);
  const SmoothNoise core_noise(stream_key(opt.seed, Purpose::tumor_noise, a, 3 * b + 1), 4);
  const SmoothNoise edema_noise(stream_key(opt.seed, Purpose::tumor_noise, a, 3 * b + 2), 4);

  const int64_t nx = opt.size[0], ny = opt.size[1], nz = opt.size[2];
  std::vector<uint8_t> tissue(static_cast<size_t>(nx * ny * nz), static_cast<uint8_t>(Tissue::background));
  const double bs = sh.brain_scale;
  const double fold_band = 1.0 - sh.cortex - 1.8 * sh.sulcus_depth;  // below this, folds cannot reach
  const double tumor_reach = sh.r_edema * 1.35;       // the perturbed edema stays inside this ball

#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t z = 0; z < nz; ++z) {
    for (int64_t y = 0; y < ny; ++y) {
      uint8_t* row = &tissue[static_cast<size_t>(nx * (y + ny * z))];
      const double uy = (y - sh.center.y) / sh.half.y, uz = (z - sh.center.z) / sh.half.z;
      for (int64_t x = 0; x < nx; ++x) {
        const Vec3 u{(x - sh.center.x) / sh.half.x, uy, uz};
        const double r = norm(u);
        if (r >= 1.0) continue;
        if (r >= sh.scalp_in) { row[x] = static_cast<uint8_t>(Tissue::scalp); continue; }
        if (r >= sh.skull_in) { row[x] = static_cast<uint8_t>(Tissue::skull); continue; }
        const Vec3 v{u.x / bs, u.y / bs, u.z / bs};
        // s: radius relative to the (smoothly perturbed) brain surface; 1 on the surface.
        const double s = norm(v) / (1.0 + 0.035 * brain_noise(v.x, v.y, v.z));
        Tissue t = Tissue::csf;
        if (s <= 1.0) {
          if (Tissue f = fissure_tissue(v, sh); f != Tissue::background) {
            t = f;
          } else if (s > fold_band) {
            t = cortex_tissue(v, s, sh, fold_noise, depth_noise);
          } else if (in_ventricle(v, sh)) {
            t = Tissue::csf;
          } else if (in_deep_grey(v)) {
            t = Tissue::grey;
          } else {
            t = Tissue::white;
          }
          const Vec3 d{v.x - sh.tumor.x, v.y - sh.tumor.y, v.z - sh.tumor.z};
          const double dist = norm(d);
          if (dist < tumor_reach) {
            const Vec3 dir = dist > 0 ? Vec3{d.x / dist, d.y / dist, d.z / dist} : Vec3{1, 0, 0};
            const double core = sh.r_core * (1.0 + 0.22 * core_noise(dir.x, dir.y, dir.z));
            const double necrosis =
                std::min(sh.r_necrosis * (1.0 + 0.2 * necrosis_noise(dir.x, dir.y, dir.z)), core - sh.rim_min);
            if (dist < necrosis)
              t = Tissue::necrosis;
            else if (dist < core)
              t = Tissue::enhancing;
            else if ((t == Tissue::white || t == Tissue::grey) &&
                     dist < sh.r_edema * (1.0 + 0.3 * edema_noise(dir.x, dir.y, dir.z)))
              t = Tissue::edema;
          }
        }
        row[x] = static_cast<uint8_t>(t);
      }
    }
  }
  return tissue;
}

int phantom_label(Tissue t) {
  switch (t) {
    case Tissue::necrosis: return 1;
    case Tissue::edema: return 2;
    case Tissue::enhancing: return 4;
    default: return 0;
  }
}

}  // namespace asyndgan::data
