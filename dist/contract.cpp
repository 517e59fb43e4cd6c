// The run contract's settings, hash and comparison.
#include "dist/contract.h"
#include <algorithm>
#include <cstdio>
#include <map>
#include <openssl/evp.h>
#include "base/error.h"

namespace asyndgan::dist {

namespace {

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);  // round-trips: equal doubles, equal strings
  return b;
}

}  // namespace

Settings run_contract(const TrainOptions& o) {
  Settings s = {
      {"loss.gan", o.gan_loss == models::GanMode::vanilla ? "vanilla" : "lsgan"},
      {"loss.lambda_l1", number(o.lambda_l1)},
      {"loss.l1_brain_mask", o.l1_brain_mask ? "true" : "false"},
      {"loss.mask_channel", o.l1_brain_mask ? o.mask_channel : ""},
      {"optim.d.lr", number(o.adam_d.lr)},
      {"optim.d.beta1", number(o.adam_d.beta1)},
      {"optim.d.beta2", number(o.adam_d.beta2)},
      {"optim.d.eps", number(o.adam_d.eps)},
      {"optim.d.weight_decay", number(o.adam_d.weight_decay)},
      {"train.batch_per_site", std::to_string(o.batch_per_site)},
      {"train.crop", std::to_string(o.crop)},
      {"train.flip", o.flip ? "true" : "false"},
      {"train.sampling", o.sampling == data::Sampling::balance ? "balance" : "uniform"},
      {"model.discriminators", o.discriminators == DiscriminatorLayout::per_modality ? "per_modality" : "joint"},
      {"train.seed", std::to_string(o.seed)},
      {"dist.wire_dtype", wire_dtype_name(o.wire_dtype)},
  };
  s.insert(s.end(), o.contract.begin(), o.contract.end());
  std::sort(s.begin(), s.end(), [](const Setting& a, const Setting& b) { return a.key < b.key; });
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i].key == s[i - 1].key) throw ValueError(msg("run contract: key '", s[i].key, "' given twice"));
  return s;
}

std::array<uint8_t, 32> sha256(std::string_view bytes) {
  std::array<uint8_t, 32> md{};
  unsigned int n = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md.data(), &n, EVP_sha256(), nullptr) != 1 || n != md.size())
    throw Error("OpenSSL's SHA-256 failed");
  return md;
}

std::string contract_hash(const Settings& contract) {
  std::string text;
  for (const Setting& s : contract) text += s.key + "=" + s.value + "\n";
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (uint8_t b : sha256(text)) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

std::string contract_differences(const Settings& central, const Settings& site) {
  std::map<std::string, std::pair<const std::string*, const std::string*>> keys;
  for (const Setting& s : central) keys[s.key].first = &s.value;
  for (const Setting& s : site) keys[s.key].second = &s.value;
  std::string out;
  for (const auto& [key, v] : keys) {
    if (v.first && v.second && *v.first == *v.second) continue;
    out += (out.empty() ? "" : "; ") + key + " (central " + (v.first ? *v.first : "missing") + ", site " +
           (v.second ? *v.second : "missing") + ")";
  }
  return out;
}

}  // namespace asyndgan::dist
