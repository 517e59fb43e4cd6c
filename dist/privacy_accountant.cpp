// The Rényi-DP accountant: Gaussian answers' rho, Opacus's RDP to (epsilon, delta) conversion, and the per-sample
// ledger a site checks before it answers.
#include "dist/privacy_accountant.h"
#include <algorithm>
#include <cmath>
#include <limits>
#include "base/error.h"
#include "engine/io/checkpoint_state.h"

namespace asyndgan::dist {
namespace {

void check_delta(double delta) {
  if (!(delta > 0 && delta < 1))
    throw ValueError(msg("site.privacy.delta = ", delta, " must lie strictly between 0 and 1 (typically below 1 / the ",
                         "number of samples, e.g. 1e-5)"));
}

void check_rho(double rho, const char* what) {
  if (!(rho >= 0) || !std::isfinite(rho))
    throw ValueError(msg(what, " = ", rho, " must be a finite rho >= 0 (RDP(alpha) = alpha * rho)"));
}

// c(alpha) in eps(alpha) = alpha rho + c(alpha), written as Opacus's get_privacy_spent evaluates it (rdp first,
// then the two terms) so the golden numbers agree to the last few ulps.
double conversion_epsilon(double rdp, double alpha, double log_delta) {
  return rdp - (log_delta + std::log(alpha)) / (alpha - 1) + std::log((alpha - 1) / alpha);
}

}  // namespace

const std::vector<double>& rdp_orders() {
  static const std::vector<double> orders = [] {
    std::vector<double> o;
    for (int x = 1; x < 100; ++x) o.push_back(1 + x / 10.0);  // the same rounding as Python's 1 + x / 10.0
    for (int a = 12; a < 64; ++a) o.push_back(a);
    return o;
  }();
  return orders;
}

double gaussian_rho(double sigma, double sensitivity) {
  if (!(sigma > 0) || !std::isfinite(sigma))
    throw ValueError(msg("gaussian_rho: noise sigma = ", sigma, " (in units of the clip norm C) must be positive and ",
                         "finite: zero noise gives no privacy"));
  if (!(sensitivity > 0) || !std::isfinite(sensitivity))
    throw ValueError(msg("gaussian_rho: sensitivity = ", sensitivity, " (in units of C) must be positive and finite"));
  return sensitivity * sensitivity / (2 * sigma * sigma);
}

EpsilonSpent epsilon_from_rho(double rho, double delta) {
  check_delta(delta);
  check_rho(rho, "epsilon_from_rho: rho");
  if (rho == 0) return {0, 0};
  const double log_delta = std::log(delta);
  EpsilonSpent best{std::numeric_limits<double>::infinity(), 0};
  for (double alpha : rdp_orders()) {
    const double eps = conversion_epsilon(alpha * rho, alpha, log_delta);
    if (eps < best.epsilon) best = {eps, alpha};  // strict: the first minimum, as numpy's argmin
  }
  best.epsilon = std::max(best.epsilon, 0.0);
  return best;
}

double max_rho_for_epsilon(double epsilon, double delta) {
  check_delta(delta);
  const double log_delta = std::log(delta);
  double best = -std::numeric_limits<double>::infinity();
  for (double alpha : rdp_orders()) best = std::max(best, (epsilon - conversion_epsilon(0, alpha, log_delta)) / alpha);
  return best;
}

double noise_for_budget(double epsilon, double delta, int64_t answers, double sensitivity) {
  check_delta(delta);
  if (!(epsilon > 0) || !std::isfinite(epsilon))
    throw ValueError(msg("site.privacy.epsilon = ", epsilon, " must be positive and finite"));
  if (answers < 1)
    throw ValueError(msg("site.privacy.answers = ", answers, " must be at least 1 (answers per sample to budget for)"));
  gaussian_rho(1, sensitivity);  // checks the sensitivity
  const double limit = max_rho_for_epsilon(epsilon, delta);
  if (!(limit > 0))
    throw ValueError(msg("site.privacy.epsilon = ", epsilon, " is below what the RDP conversion can certify at delta ",
                         delta, " with any noise (about ", epsilon_from_rho(1e-300, delta).epsilon,
                         "): raise site.privacy.epsilon or site.privacy.delta"));
  // answers * s^2 / (2 sigma^2) = limit, then up by ulps until the exact check agrees (rounding may leave it a
  // hair above the budget).
  double sigma = sensitivity * std::sqrt(static_cast<double>(answers) / (2 * limit));
  auto fits = [&](double s) {
    return epsilon_from_rho(static_cast<double>(answers) * gaussian_rho(s, sensitivity), delta).epsilon <= epsilon;
  };
  for (int i = 0; i < 64 && !fits(sigma); ++i) sigma = std::nextafter(sigma, std::numeric_limits<double>::infinity());
  if (!fits(sigma)) throw Error(msg("noise_for_budget: no sigma found for epsilon ", epsilon, " (internal error)"));
  return sigma;
}

PrivacyLedger::PrivacyLedger(int64_t samples, double rho_per_answer, double epsilon_budget, double delta)
    : rho_per_answer_(rho_per_answer), budget_(epsilon_budget), delta_(delta) {
  if (samples < 0) throw ValueError(msg("PrivacyLedger: samples = ", samples, " must be >= 0"));
  check_rho(rho_per_answer, "PrivacyLedger: rho per answer");
  if (!(epsilon_budget >= 0) || !std::isfinite(epsilon_budget))
    throw ValueError(msg("site.privacy.epsilon = ", epsilon_budget, " must be finite and >= 0 (0: no budget)"));
  check_delta(delta);
  if (budget_ > 0) rho_limit_ = max_rho_for_epsilon(budget_, delta_);
  rho_.assign(static_cast<size_t>(samples), 0.0);
  answers_.assign(static_cast<size_t>(samples), 0);
  recount();
}

void PrivacyLedger::check_sample(int64_t sample, const char* what) const {
  if (sample < 0 || sample >= samples())
    throw ValueError(msg("PrivacyLedger::", what, ": sample ", sample, " is outside the site's ", samples(), " samples"));
}

bool PrivacyLedger::fits(double rho) const {
  if (budget_ == 0 || rho == 0) return true;
  // The threshold and the exact check differ only by rounding: trust it away from the boundary.
  if (rho_limit_ > 0) {
    if (rho < rho_limit_ * (1 - 1e-9)) return true;
    if (rho > rho_limit_ * (1 + 1e-9)) return false;
  }
  return epsilon_from_rho(rho, delta_).epsilon <= budget_;
}

bool PrivacyLedger::can_answer(int64_t sample, int64_t times) const {
  check_sample(sample, "can_answer");
  if (times < 0) throw ValueError(msg("PrivacyLedger::can_answer: times = ", times, " must be >= 0"));
  return fits(rho_[sample] + static_cast<double>(times) * rho_per_answer_);
}

void PrivacyLedger::charge(int64_t sample, int64_t times) {
  check_sample(sample, "charge");
  if (times < 0) throw ValueError(msg("PrivacyLedger::charge: times = ", times, " must be >= 0"));
  if (times == 0) return;
  const bool could = fits(rho_[sample] + rho_per_answer_);
  rho_[sample] += static_cast<double>(times) * rho_per_answer_;
  answers_[sample] += times;
  max_rho_ = std::max(max_rho_, rho_[sample]);
  if (could && !fits(rho_[sample] + rho_per_answer_)) ++exhausted_;
}

double PrivacyLedger::epsilon(int64_t sample) const {
  check_sample(sample, "epsilon");
  return epsilon_from_rho(rho_[sample], delta_).epsilon;
}

int64_t PrivacyLedger::answers(int64_t sample) const {
  check_sample(sample, "answers");
  return answers_[sample];
}

double PrivacyLedger::rho(int64_t sample) const {
  check_sample(sample, "rho");
  return rho_[sample];
}

double PrivacyLedger::max_epsilon() const {
  if (max_rho_ != max_eps_rho_) {
    max_eps_ = epsilon_from_rho(max_rho_, delta_).epsilon;
    max_eps_rho_ = max_rho_;
  }
  return max_eps_;
}

void PrivacyLedger::charge_everyone(double rho) {
  check_rho(rho, "PrivacyLedger::charge_everyone: rho");
  site_wide_rho_ += rho;
}

double PrivacyLedger::site_wide_epsilon() const { return epsilon_from_rho(site_wide_rho_, delta_).epsilon; }

void PrivacyLedger::recount() {
  max_rho_ = 0;
  exhausted_ = 0;
  for (double r : rho_) {
    max_rho_ = std::max(max_rho_, r);
    if (!fits(r + rho_per_answer_)) ++exhausted_;
  }
}

void PrivacyLedger::save(Checkpoint& ckpt, const std::string& prefix) const {
  const int64_t n = samples();
  put_int(ckpt, prefix + "samples", n);
  ckpt.tensors[prefix + "rho"] = Tensor::from_vector<double>(rho_, {n});
  ckpt.tensors[prefix + "answers"] = Tensor::from_vector<int64_t>(answers_, {n});
  ckpt.tensors[prefix + "site_wide_rho"] = Tensor::from_vector<double>({site_wide_rho_}, {1});
}

void PrivacyLedger::load(const Checkpoint& ckpt, const std::string& prefix) {
  const int64_t n = get_int(ckpt, prefix + "samples");
  if (n != samples())
    throw ValueError(msg("checkpoint privacy ledger '", prefix, "' is for ", n, " samples, this site has ", samples(),
                         ": a ledger belongs to one shard; resume with the same shard (or start a new ledger only for ",
                         "new data)"));
  auto tensor = [&](const std::string& key, DType dtype, int64_t numel) -> const Tensor& {
    auto it = ckpt.tensors.find(prefix + key);
    if (it == ckpt.tensors.end()) throw FormatError(msg("checkpoint has no tensor '", prefix, key, "'"));
    if (it->second.dtype() != dtype || it->second.shape() != Shape{numel})
      throw FormatError(msg("checkpoint tensor '", prefix, key, "' is ", it->second.describe(), ", expected ",
                            dtype_name(dtype), "[", numel, "]"));
    return it->second;
  };
  std::vector<double> rho = tensor("rho", DType::f64, n).to_vector<double>();
  std::vector<int64_t> answers = tensor("answers", DType::i64, n).to_vector<int64_t>();
  const double site_wide = tensor("site_wide_rho", DType::f64, 1).to_vector<double>()[0];
  for (int64_t i = 0; i < n; ++i)
    if (!(rho[i] >= 0) || !std::isfinite(rho[i]) || answers[i] < 0)
      throw FormatError(msg("checkpoint privacy ledger '", prefix, "' sample ", i, " has rho ", rho[i], " after ",
                            answers[i], " answers: not a valid ledger"));
  if (!(site_wide >= 0) || !std::isfinite(site_wide))
    throw FormatError(msg("checkpoint privacy ledger '", prefix, "' has site-wide rho ", site_wide));
  rho_ = std::move(rho);
  answers_ = std::move(answers);
  site_wide_rho_ = site_wide;
  recount();
}

}  // namespace asyndgan::dist
