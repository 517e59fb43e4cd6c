// Checking and completing a site's own policy, and declaring it.
#include "dist/site_policy.h"
#include <cmath>
#include <cstdio>
#include "base/error.h"
#include "dist/privacy_accountant.h"

namespace asyndgan::dist {

namespace {

std::string number(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

void require(bool ok, const std::string& where, const std::string& what) {
  if (!ok) throw ValueError(msg(where, ": ", what));
}

}  // namespace

SitePolicy resolve_site_policy(SitePolicy p, const std::string& where) {
  PrivacyOptions& q = p.privacy;
  for (auto [key, v] : {std::pair{"clip", q.clip}, {"sigma", q.sigma}, {"epsilon", q.epsilon}})
    require(std::isfinite(v) && v >= 0, where, msg("site.privacy.", key, " = ", v, "; expected a finite number >= 0 (0: off)"));
  require(std::isfinite(q.delta) && q.delta > 0 && q.delta < 1, where,
          msg("site.privacy.delta = ", q.delta, "; expected a number in (0, 1), well below 1 / (training samples), such as 1e-5"));
  require(q.answers >= 0, where, msg("site.privacy.answers = ", q.answers, "; expected a count >= 0"));
  require(p.max_queries_per_sample >= 0, where,
          msg("site.max_queries_per_sample = ", p.max_queries_per_sample, "; expected a count >= 0 (0: no limit)"));
  require(std::isfinite(p.pixel_limit) && p.pixel_limit > 0, where, msg("the pixel limit ", p.pixel_limit, " is not positive"));
  if (q.answers > 0) {
    require(q.epsilon > 0, where, "site.privacy.answers sizes the noise for a budget: give site.privacy.epsilon too");
    if (q.sigma == 0) q.sigma = noise_for_budget(q.epsilon, q.delta, q.answers);  // once: resolving is idempotent
  }
  require(q.epsilon == 0 || q.sigma > 0, where,
          "site.privacy.epsilon is a budget for noisy answers: give site.privacy.sigma (the noise) or site.privacy.answers "
          "(the answers per sample the budget must last for)");
  require(q.sigma == 0 || q.clip > 0, where,
          "site.privacy.sigma is noise in units of the clipping norm: give site.privacy.clip (such as 1) as well");
  return p;
}

Settings declared_policy(const SitePolicy& p) {
  const PrivacyOptions& q = p.privacy;
  Settings s = {{"site.privacy.clip", number(q.clip)},
                {"site.privacy.sigma", number(q.sigma)},
                {"site.privacy.epsilon", number(q.epsilon)},
                {"site.privacy.delta", number(q.delta)},
                {"site.privacy.drop_l1", q.drop_l1 ? "true" : "false"},
                {"site.max_queries_per_sample", std::to_string(p.max_queries_per_sample)}};
  return s;
}

}  // namespace asyndgan::dist
