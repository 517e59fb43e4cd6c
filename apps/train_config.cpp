// The train configuration's schema (keys, types, defaults, allowed values) and its checking; configs/example.toml
// documents the same keys for people.
#include "apps/train_config.h"
#include <algorithm>
#include <cmath>
#include "engine/device.h"
#include "base/error.h"
#include "engine/nn/init.h"
#include "engine/numerics.h"
#include "engine/rng.h"
#include "models/gan_loss.h"
#include "models/patch_discriminator.h"

namespace asyndgan::app {
namespace {

enum class Type { integer, number, boolean, string, paths };

struct Key {
  const char* key;
  Type type;
  Json def;  // null: required
  std::vector<std::string> choices = {};
  double min = -INFINITY, max = INFINITY;  // inclusive, for numbers and integers
  bool below_max = false;                  // max is exclusive
  bool positive = false;                   // > 0 (a learning rate)
};

const std::vector<Key>& schema() {
  static const std::vector<Key> keys = {
      {"data.shards", Type::paths, Json::array()},  // required where a site's data is read (checked there)
      {"model.generator", Type::string, "unet", {"unet", "resnet_9blocks", "resnet_6blocks"}},
      {"model.image_size", Type::integer, 0, {}, 0},
      {"model.ngf", Type::integer, 64, {}, 1},
      {"model.ndf", Type::integer, 64, {}, 1},
      {"model.d_layers", Type::integer, 3, {}, 1},
      {"model.norm", Type::string, "batch", {"batch", "instance"}},
      {"model.dropout", Type::boolean, true},
      {"model.discriminators", Type::string, "per_modality", {"per_modality", "joint"}},
      {"model.init", Type::string, "normal", {"normal", "default"}},
      {"loss.gan", Type::string, "vanilla", {"vanilla", "lsgan"}},
      {"loss.lambda_l1", Type::number, 100.0, {}, 0},
      {"loss.l1_brain_mask", Type::boolean, false},
      {"loss.mask_channel", Type::string, "brain"},
      {"optim.g.lr", Type::number, 2e-4, {}, 0, INFINITY, false, true},
      {"optim.g.beta1", Type::number, 0.5, {}, 0, 1, true},
      {"optim.g.beta2", Type::number, 0.999, {}, 0, 1, true},
      {"optim.g.weight_decay", Type::number, 0.0, {}, 0},
      {"optim.d.lr", Type::number, 2e-4, {}, 0, INFINITY, false, true},
      {"optim.d.beta1", Type::number, 0.5, {}, 0, 1, true},
      {"optim.d.beta2", Type::number, 0.999, {}, 0, 1, true},
      {"optim.d.weight_decay", Type::number, 0.0, {}, 0},
      {"schedule.unit", Type::string, "iterations", {"iterations", "epochs"}},
      {"schedule.constant", Type::integer, 1000, {}, 0},
      {"schedule.decay", Type::integer, 0, {}, 0},
      {"train.batch_per_site", Type::integer, 1, {}, 1},
      {"train.crop", Type::integer, 0, {}, 0},
      {"train.flip", Type::boolean, false},
      {"train.sampling", Type::string, "balance", {"balance", "uniform"}},
      {"train.weighting", Type::string, "size", {"size", "equal"}},
      {"train.seed", Type::integer, 0, {}, 0},
      {"train.device", Type::string, "cpu"},
      {"train.precision", Type::string, "fp32"},  // its names are parse_numerics's to check
      {"train.tf32", Type::boolean, false},
      {"train.deterministic", Type::boolean, false},
      {"train.winograd", Type::boolean, true},
      {"train.cuda_graphs", Type::boolean, false},
      {"dist.wire_dtype", Type::string, "bf16", {"fp32", "bf16", "fp16"}},
      {"dist.compress", Type::string, "none", {"none", "zstd"}},
      {"dist.timeout_s", Type::number, 60.0, {}, 0, INFINITY, false, true},
      {"dist.listen", Type::string, "0.0.0.0:7710"},
      {"dist.central", Type::string, "localhost:7710"},
      {"dist.sites", Type::paths, Json::array()},
      {"dist.min_sites", Type::integer, 0, {}, 0},
      {"dist.reconnect_s", Type::number, 60.0, {}, 0},
      {"dist.certs", Type::string, "certs"},
      // A site's own: its privacy and its refusals (dist/site_policy.h), declared in its Hello, not in the contract.
      {"site.privacy.clip", Type::number, 0.0, {}, 0},
      {"site.privacy.sigma", Type::number, 0.0, {}, 0},
      {"site.privacy.epsilon", Type::number, 0.0, {}, 0},
      {"site.privacy.delta", Type::number, 1e-5, {}, 0, 1, true, true},
      {"site.privacy.answers", Type::integer, 0, {}, 0},
      {"site.privacy.drop_l1", Type::boolean, false},
      {"site.max_queries_per_sample", Type::integer, 2, {}, 0},
      {"output.dir", Type::string, "runs/asyndgan"},
      {"output.log_every", Type::integer, 10, {}, 1},
      {"output.sample_every", Type::integer, 100, {}, 0},
      {"output.sample_count", Type::integer, 2, {}, 1},
      {"output.checkpoint_every", Type::integer, 500, {}, 0},
  };
  return keys;
}

constexpr const char* kModalityPrefix = "data.modalities.";

[[noreturn]] void fail(const TomlEntry& e, const std::string& what) {
  throw ValueError(msg("config: ", e.origin, ": '", e.key, "' ", what));
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::vector<std::string> strings_of(const TomlEntry& e, bool allow_single) {
  if (allow_single && e.value.is_string()) return {e.value.get<std::string>()};
  if (!e.value.is_array()) fail(e, allow_single ? "takes a path or an array of paths" : "takes an array of strings");
  std::vector<std::string> out;
  for (const Json& v : e.value) {
    if (!v.is_string() || v.get<std::string>().empty()) fail(e, "takes an array of non-empty strings");
    out.push_back(v.get<std::string>());
  }
  if (out.empty()) fail(e, "is an empty array");
  return out;
}

// The value checked against its key's type, range and choices; integers are accepted for numbers.
Json checked(const Key& k, const TomlEntry& e) {
  const Json& v = e.value;
  switch (k.type) {
    case Type::boolean:
      if (!v.is_boolean()) fail(e, "takes true or false, got " + toml_value_text(v));
      return v;
    case Type::string:
      if (!v.is_string()) fail(e, "takes a string, got " + toml_value_text(v));
      if (!k.choices.empty() && std::find(k.choices.begin(), k.choices.end(), v.get<std::string>()) == k.choices.end())
        fail(e, msg("must be one of ", join(k.choices), ", got ", toml_value_text(v)));
      if (v.get<std::string>().empty()) fail(e, "must not be empty");
      return v;
    case Type::paths:
      if (!(v.is_array() && v.empty())) strings_of(e, true);  // [] is the default: none given
      return v;
    case Type::integer:
    case Type::number: {
      if (k.type == Type::integer && !v.is_number_integer()) fail(e, "takes an integer, got " + toml_value_text(v));
      if (k.type == Type::number && !v.is_number()) fail(e, "takes a number, got " + toml_value_text(v));
      const double x = v.get<double>();
      if (x < k.min || x > k.max || (k.below_max && x >= k.max) || (k.positive && !(x > 0)))
        fail(e, msg("is out of range: got ", toml_value_text(v), ", allowed ",
                    k.positive ? std::string("> 0")
                    : k.max == INFINITY ? msg(">= ", k.min)
                                        : msg(k.min, " <= value ", k.below_max ? "< " : "<= ", k.max)));
      return k.type == Type::number ? Json(x) : v;
    }
  }
  return v;
}

std::string known_in_section(const std::string& key) {
  const std::string section = key.substr(0, key.find('.'));
  std::vector<std::string> known;
  for (const Key& k : schema())
    if (std::string(k.key).starts_with(section + ".")) known.push_back(k.key);
  if (section == "data") known.push_back(std::string(kModalityPrefix) + "<site>");
  if (known.empty()) {
    std::vector<std::string> sections;
    for (const Key& k : schema()) {
      std::string s(k.key);
      s = s.substr(0, s.find('.'));
      if (std::find(sections.begin(), sections.end(), s) == sections.end()) sections.push_back(s);
    }
    return "known sections: " + join(sections);
  }
  return "known keys: " + join(known);
}

// Typed reads of the resolved config, whose values checked() has vouched for.
const std::string& str(const TomlConfig& c, const char* key) { return c.find(key)->value.get_ref<const std::string&>(); }
int64_t integer(const TomlConfig& c, const char* key) { return c.find(key)->value.get<int64_t>(); }
double number(const TomlConfig& c, const char* key) { return c.find(key)->value.get<double>(); }
bool boolean(const TomlConfig& c, const char* key) { return c.find(key)->value.get<bool>(); }

optim::AdamOptions adam(const TomlConfig& c, const std::string& p) {
  optim::AdamOptions o;
  o.lr = number(c, (p + "lr").c_str());
  o.beta1 = number(c, (p + "beta1").c_str());
  o.beta2 = number(c, (p + "beta2").c_str());
  o.weight_decay = number(c, (p + "weight_decay").c_str());
  return o;
}

}  // namespace

TrainConfig resolve_train_config(const TomlConfig& toml) {
  TrainConfig cfg;
  for (const TomlEntry& e : toml.entries()) {
    if (e.key.starts_with(kModalityPrefix)) {
      const std::string site = e.key.substr(std::string(kModalityPrefix).size());
      if (site.empty() || site.find('.') != std::string::npos) fail(e, "must be data.modalities.<site name>");
      continue;
    }
    const bool known = std::any_of(schema().begin(), schema().end(), [&](const Key& k) { return e.key == k.key; });
    if (!known) fail(e, "is not a train setting (" + known_in_section(e.key) + ")");
  }
  for (const Key& k : schema()) {
    const TomlEntry* e = toml.find(k.key);
    if (e) {
      cfg.resolved.set(k.key, checked(k, *e), e->origin);
    } else if (k.def.is_null()) {
      throw ValueError(msg("config: '", k.key, "' is required (e.g. ", k.key,
                           " = [\"prepared/SiteA.shard\", \"prepared/SiteB.shard\"] or \"prepared\")"));
    } else {
      cfg.resolved.set(k.key, k.def, "default");
    }
  }
  for (const TomlEntry& e : toml.entries())
    if (e.key.starts_with(kModalityPrefix)) {
      cfg.modalities[e.key.substr(std::string(kModalityPrefix).size())] = strings_of(e, false);
      cfg.resolved.set(e.key, e.value, e.origin);
    }

  const TomlConfig& r = cfg.resolved;
  if (!r.find("data.shards")->value.empty()) cfg.shards = strings_of(*r.find("data.shards"), true);
  cfg.shards_origin = r.find("data.shards")->origin;
  cfg.generator.kind = str(r, "model.generator");
  cfg.generator.ngf = integer(r, "model.ngf");
  cfg.generator.norm = str(r, "model.norm");
  cfg.generator.dropout = boolean(r, "model.dropout");
  cfg.generator.image_size = integer(r, "model.image_size");
  cfg.discriminator.ndf = integer(r, "model.ndf");
  cfg.discriminator.n_layers = integer(r, "model.d_layers");
  cfg.discriminator.norm = cfg.generator.norm;
  cfg.init_normal = str(r, "model.init") == "normal";

  dist::TrainOptions& o = cfg.options;
  o.gan_loss = models::parse_gan_mode(str(r, "loss.gan"), "loss.gan");
  o.lambda_l1 = number(r, "loss.lambda_l1");
  o.l1_brain_mask = boolean(r, "loss.l1_brain_mask");
  o.mask_channel = str(r, "loss.mask_channel");
  o.adam_g = adam(r, "optim.g.");
  o.adam_d = adam(r, "optim.d.");
  o.batch_per_site = integer(r, "train.batch_per_site");
  o.crop = integer(r, "train.crop");
  o.flip = boolean(r, "train.flip");
  o.sampling = str(r, "train.sampling") == "balance" ? data::Sampling::balance : data::Sampling::uniform;
  o.weighting = str(r, "train.weighting") == "size" ? dist::Weighting::size : dist::Weighting::equal;
  o.discriminators = str(r, "model.discriminators") == "per_modality" ? dist::DiscriminatorLayout::per_modality
                                                                       : dist::DiscriminatorLayout::joint;
  o.seed = static_cast<uint64_t>(integer(r, "train.seed"));
  try {
    o.device = resolve_device(str(r, "train.device"));
  } catch (const Error& err) {
    fail(*r.find("train.device"), msg("names no usable device: ", err.what()));
  }
  try {
    o.numerics = parse_numerics({str(r, "train.precision"), boolean(r, "train.tf32"), boolean(r, "train.deterministic"),
                                 boolean(r, "train.winograd")},
                                o.device);
  } catch (const ValueError& err) {  // its errors are about train.precision: say where that was set
    throw ValueError(msg("config: ", r.find("train.precision")->origin, ": ", err.what()));
  }
  o.cuda_graphs = boolean(r, "train.cuda_graphs");
  o.wire_dtype = dist::parse_wire_dtype(str(r, "dist.wire_dtype"));
  cfg.dist.listen = str(r, "dist.listen");
  cfg.dist.central = str(r, "dist.central");
  if (!r.find("dist.sites")->value.empty()) cfg.dist.sites = strings_of(*r.find("dist.sites"), false);
  cfg.dist.min_sites = integer(r, "dist.min_sites");
  cfg.dist.reconnect_s = number(r, "dist.reconnect_s");
  cfg.dist.zstd = str(r, "dist.compress") == "zstd";
  cfg.dist.certs = str(r, "dist.certs");
  dist::SitePolicy& site = o.site;
  site.privacy.clip = number(r, "site.privacy.clip");
  site.privacy.sigma = number(r, "site.privacy.sigma");
  site.privacy.epsilon = number(r, "site.privacy.epsilon");
  site.privacy.delta = number(r, "site.privacy.delta");
  site.privacy.answers = integer(r, "site.privacy.answers");
  site.privacy.drop_l1 = boolean(r, "site.privacy.drop_l1");
  site.max_queries_per_sample = integer(r, "site.max_queries_per_sample");
  if (site.privacy.sigma > 0 && site.privacy.answers > 0)
    fail(*r.find("site.privacy.answers"), "and 'site.privacy.sigma' both set the noise: give one (answers: the noise that makes "
                                         "that many answers per sample fit site.privacy.epsilon)");
  try {  // the combinations checked now, where the config is read, not when a site starts
    site = dist::resolve_site_policy(site, "site");
  } catch (const ValueError& err) {
    throw ValueError(msg("config: ", err.what()));
  }
  o.timeout = std::chrono::milliseconds(static_cast<int64_t>(std::ceil(number(r, "dist.timeout_s") * 1000)));
  // The networks every role must build alike join the run contract (dist/contract.h adds the algorithm's keys).
  for (const char* key : {"model.generator", "model.ngf", "model.ndf", "model.d_layers", "model.norm",
                          "model.dropout", "model.init"})
    o.contract.push_back({key, toml_value_text(r.find(key)->value)});

  cfg.schedule_epochs = str(r, "schedule.unit") == "epochs";
  cfg.constant = integer(r, "schedule.constant");
  cfg.decay = integer(r, "schedule.decay");
  if (cfg.constant + cfg.decay < 1) {
    const TomlEntry* e = toml.find("schedule.constant") ? toml.find("schedule.constant") : r.find("schedule.constant");
    fail(*e, "and schedule.decay are both 0: nothing to train (set schedule.constant = 1000, say)");
  }
  cfg.out_dir = str(r, "output.dir");
  cfg.log_every = integer(r, "output.log_every");
  cfg.sample_every = integer(r, "output.sample_every");
  cfg.sample_count = integer(r, "output.sample_count");
  cfg.checkpoint_every = integer(r, "output.checkpoint_every");
  return cfg;
}

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  TomlConfig toml = read_toml_file(path);
  for (const std::string& s : overrides) apply_override(toml, s);
  return resolve_train_config(toml);
}

std::string first_training_difference(const TomlConfig& a, const TomlConfig& b) {
  // A run may resume on another device (checkpoints hold host tensors), and a site may change its own policy
  // (its privacy ledger carries over); everything else must match.
  auto training = [](const std::string& k) {
    return !k.starts_with("output.") && !k.starts_with("schedule.") && !k.starts_with("site.") && k != "train.device" &&
           (!k.starts_with("dist.") || k == "dist.wire_dtype" || k == "dist.sites");
  };
  for (const TomlEntry& e : a.entries()) {
    if (!training(e.key)) continue;
    const TomlEntry* o = b.find(e.key);
    if (!o || toml_value_text(o->value) != toml_value_text(e.value)) return e.key;
  }
  for (const TomlEntry& e : b.entries())
    if (training(e.key) && !a.find(e.key)) return e.key;
  return "";
}

void check_discriminator_depth(const TrainConfig& config, int64_t height, int64_t width) {
  const int64_t side = config.options.crop ? config.options.crop : std::min(height, width);
  const int64_t n = config.discriminator.n_layers;
  if (models::patch_output_size(side, n) >= 1) return;
  int64_t deepest = 0;
  while (models::patch_output_size(side, deepest + 1) >= 1) ++deepest;
  const TomlEntry* e = config.resolved.find("model.d_layers");
  throw ValueError(msg("config: ", e ? e->origin : std::string("default"), ": 'model.d_layers' = ", n,
                       " is too deep for ", side, "x", side, " ", config.options.crop ? "crops (train.crop)" : "samples",
                       ": the PatchGAN halves them ", n, " times, to ", side >> n, "x", side >> n,
                       ", and its last two 4x4 convolutions need at least 3x3; ",
                       deepest ? msg("set model.d_layers <= ", deepest) : std::string("use larger samples"),
                       deepest ? " or use larger samples" : ""));
}

dist::GeneratorFactory generator_factory(const TrainConfig& config) {
  const models::GeneratorConfig base = config.generator;
  const bool normal = config.init_normal;
  return [base, normal](int64_t in, int64_t out) {
    models::GeneratorConfig g = base;
    g.in_channels = in;
    g.out_channels = out;
    auto net = models::build_generator(g);
    if (normal) nn::init_pix2pix(*net, default_generator());
    return net;
  };
}

dist::DiscriminatorFactory discriminator_factory(const TrainConfig& config) {
  const models::DiscriminatorConfig base = config.discriminator;
  const bool normal = config.init_normal;
  return [base, normal](int64_t in) {
    models::DiscriminatorConfig d = base;
    d.in_channels = in;
    auto net = models::build_discriminator(d);
    if (normal) nn::init_pix2pix(*net, default_generator());
    return net;
  };
}

}  // namespace asyndgan::app
