// Parsing and construction of the norm choice.
#include "models/norm_kind.h"
#include "base/error.h"
#include "engine/nn/norm.h"

namespace asyndgan::models {

NormKind parse_norm(const std::string& name, const std::string& what) {
  if (name == "batch") return NormKind::batch;
  if (name == "instance") return NormKind::instance;
  throw ValueError(msg(what, ": unknown norm '", name, "'; use \"batch\" or \"instance\""));
}

const char* norm_name(NormKind kind) { return kind == NormKind::batch ? "batch" : "instance"; }

std::shared_ptr<nn::Module> make_norm(NormKind kind, int64_t channels) {
  if (kind == NormKind::batch) return std::make_shared<nn::BatchNorm2d>(channels);
  return std::make_shared<nn::InstanceNorm2d>(channels, /*affine=*/false);
}

}  // namespace asyndgan::models
