// Label volumes -> conditions -> generator -> volumes, through prepare's per-slice functions.
#include "apps/label_volumes.h"
#include <algorithm>
#include <cstring>
#include "data/nifti.h"
#include "data/preprocess.h"
#include "engine/autograd.h"
#include "base/error.h"
#include "engine/io/json.h"

namespace asyndgan::app {
namespace {

const Json& field(const Json& o, const std::string& key, const std::string& source) {
  if (!o.is_object() || !o.contains(key))
    throw FormatError(msg(source, ": prepare.json has no '", key, "' (re-run 'asyndgan prepare')"));
  return o.at(key);
}

}  // namespace

PreparedFormat parse_prepare_json(const std::string& text, const std::string& source) {
  PreparedFormat f;
  try {
    const Json j = parse_json(text, source);
    const Json& o = field(j, "options", source);
    f.options.height = field(o, "height", source).get<int64_t>();
    f.options.width = field(o, "width", source).get<int64_t>();
    f.options.resize = field(o, "resize", source).get<bool>();
    f.options.norm = data::parse_normalization(field(o, "norm", source).get<std::string>());
    f.options.clip_low = field(o, "clip_low", source).get<double>();
    f.options.clip_high = field(o, "clip_high", source).get<double>();
    f.options.condition = data::parse_condition(field(o, "condition", source).get<std::string>());
    const Json& l = field(j, "labels", source);
    f.labels.names = field(l, "names", source).get<std::vector<std::string>>();
    f.labels.file_values = field(l, "file_values", source).get<std::vector<int>>();
  } catch (const FormatError&) {
    throw;
  } catch (const Error& e) {
    throw FormatError(msg(source, ": not a prepare.json of 'asyndgan prepare': ", e.what()));
  } catch (const Json::exception& e) {  // a value of the wrong JSON type
    throw FormatError(msg(source, ": not a prepare.json of 'asyndgan prepare': ", e.what()));
  }
  return f;
}

SubjectInputs subject_inputs(const PreparedFormat& f, const std::string& label_path,
                             const std::vector<const data::Volume*>& present, const std::vector<std::string>& expected) {
  const std::vector<std::string> names = data::condition_channels(f.labels, f.options.condition);
  if (names != expected) {
    std::string a, b;
    for (const auto& n : names) a += (a.empty() ? "" : ",") + n;
    for (const auto& n : expected) b += (b.empty() ? "" : ",") + n;
    throw ValueError(msg("the prepared conditions [", a, "] are not the generator's inputs [", b,
                         "]: use the prepare.json of the shards the run trained on (--prepare)"));
  }
  if (present.empty())
    throw ValueError(msg(label_path, ": no modality volume of this subject was found: the brain mask, like "
                         "prepare's, comes from them (give --real-dir, or put them next to the label map)"));
  data::Volume label = data::read_nifti(label_path);
  for (const data::Volume* v : present)
    if (v->dims != label.dims)
      throw ShapeError(msg(label_path, ": a modality volume of this subject has another grid than its label map"));
  SubjectInputs in;
  const std::vector<uint8_t> labels = data::map_labels(label, f.labels, label_path);
  in.brain = data::brain_mask(present);
  label.voxels = {};
  in.grid = label;
  const int64_t nx = label.dims[0], ny = label.dims[1], plane = nx * ny;
  in.slices = label.dims[2];
  in.height = f.options.height;
  in.width = f.options.width;
  const int classes = static_cast<int>(f.labels.names.size());
  in.channels = static_cast<int64_t>(names.size());
  const int64_t H = in.height, W = in.width, hw = H * W;
  in.condition.resize(static_cast<size_t>(in.slices * in.channels * hw));
  in.brain_planes.resize(static_cast<size_t>(in.slices * hw));
  in.tumor.assign(static_cast<size_t>(in.slices), 0);
  std::vector<uint8_t> lab(static_cast<size_t>(hw));
  const data::PlaneFit fit(f.options, ny, nx);
  for (int64_t z = 0; z < in.slices; ++z) {
    uint8_t* bz = in.brain_planes.data() + z * hw;
    fit.mask(labels.data() + z * plane, lab.data());
    fit.mask(in.brain.data() + z * plane, bz);
    in.tumor[static_cast<size_t>(z)] = std::count_if(lab.begin(), lab.end(), [](uint8_t v) { return v > 0; });
    data::plane_condition(f.options, classes, lab.data(), bz, H, W, in.condition.data() + z * in.channels * hw);
  }
  return in;
}

std::vector<float> prepared_planes(const PreparedFormat& f, data::Volume v, const SubjectInputs& in) {
  data::normalize(v, in.brain, f.options);
  const data::PlaneFit fit(f.options, v.dims[1], v.dims[0]);
  const int64_t plane = v.dims[0] * v.dims[1], hw = in.height * in.width;
  std::vector<float> out(static_cast<size_t>(in.slices * hw));
  for (int64_t z = 0; z < in.slices; ++z) fit.image(v.voxels.data() + z * plane, out.data() + z * hw);
  return out;
}

data::Volume restack(const float* planes, int64_t stride, const PreparedFormat& f, const SubjectInputs& in) {
  data::Volume v = in.grid;
  const data::PlaneFit fit(f.options, v.dims[1], v.dims[0]);
  const int64_t plane = v.dims[0] * v.dims[1];
  v.voxels.assign(static_cast<size_t>(v.size()), fit.background);
  for (int64_t z = 0; z < in.slices; ++z) {
    float* dst = v.voxels.data() + z * plane;
    fit.unfit_image(planes + z * stride, dst);
    const uint8_t* brain = in.brain.data() + z * plane;
    for (int64_t i = 0; i < plane; ++i)
      if (!brain[i]) dst[i] = fit.background;
  }
  return v;
}

std::vector<float> run_generator(nn::Module& g, const std::vector<float>& condition, int64_t n, int64_t C, int64_t H,
                                 int64_t W, int64_t M, int64_t batch) {
  std::vector<float> out(static_cast<size_t>(n * M * H * W));
  const std::vector<Tensor> params = g.parameters();
  const Device device = params.empty() ? Device::cpu() : params.front().device();  // where load_generator put g
  NoGradGuard ng;
  for (int64_t b0 = 0; b0 < n; b0 += batch) {
    const int64_t b = std::min(batch, n - b0);
    const std::vector<float> x(condition.begin() + b0 * C * H * W, condition.begin() + (b0 + b) * C * H * W);
    const Tensor y = g(Tensor::from_vector(x, {b, C, H, W}).to(device)).to(DType::f32).to(Device::cpu()).contiguous();
    if (y.size(1) != M || y.size(2) != H || y.size(3) != W)
      throw ShapeError(msg("generator output ", y.size(1), "x", y.size(2), "x", y.size(3), " where ", M, "x", H, "x", W, " was expected"));
    std::memcpy(out.data() + b0 * M * H * W, y.data<float>(), static_cast<size_t>(b * M * H * W) * sizeof(float));
  }
  return out;
}

}  // namespace asyndgan::app
