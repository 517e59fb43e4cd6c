// A Rényi-DP accountant for a data site's per-sample privacy budgets: each answer about a sample is one Gaussian
// mechanism on that sample; answers compose in RDP and convert to (epsilon, delta) as Opacus does.
#pragma once
#include <cstdint>
#include <string>
#include <vector>
#include "engine/io/checkpoint.h"

namespace asyndgan::dist {

// An answer is a per-sample gradient row clipped to L2 norm C plus N(0, (sigma C)^2) noise. Adjacent datasets
// replace one sample's image, which can move that row anywhere in the ball of radius C: from one side to the
// other is 2C, so the sensitivity in units of C is 2 (not 1, as for add/remove adjacency). No amplification by
// subsampling applies: the central node chooses which samples it asks about, repeats included.
inline constexpr double kAnswerSensitivity = 2.0;

// The RDP orders (alpha) the conversion minimizes over: Opacus's RDPAccountant.DEFAULT_ALPHAS,
// [1 + x/10 for x in 1..99] + [12, 13, ..., 63].
const std::vector<double>& rdp_orders();

// The Gaussian mechanism's RDP is linear in the order: RDP(alpha) = alpha * rho, with
// rho = sensitivity^2 / (2 sigma^2), both in units of the clip norm C. `rho`s of composed answers add.
// ValueError unless sigma and sensitivity are positive and finite.
double gaussian_rho(double sigma, double sensitivity = kAnswerSensitivity);

struct EpsilonSpent {
  double epsilon = 0;
  double order = 0;  // the minimizing alpha; 0 when nothing was spent (rho == 0)
};

// Opacus's conversion (opacus/accountants/analysis/rdp.py get_privacy_spent, Balle et al. 2020, Theorem 21):
// eps(alpha) = alpha rho - (log delta + log alpha) / (alpha - 1) + log((alpha - 1) / alpha), minimized over
// rdp_orders() (the first minimum on ties, as numpy's argmin). rho == 0 gives epsilon 0 (nothing answered);
// a negative minimum (only for a large delta) is reported as 0. ValueError naming site.privacy.delta unless
// 0 < delta < 1, and for a negative or non-finite rho.
EpsilonSpent epsilon_from_rho(double rho, double delta);

// The largest total rho whose epsilon is within `epsilon` at `delta`: max over orders of
// (epsilon - c(alpha)) / alpha, where eps(alpha) = alpha rho + c(alpha). Negative when even an arbitrarily small
// positive rho exceeds `epsilon` (the conversion's floor: about 0.1 at delta 1e-5 with these orders).
double max_rho_for_epsilon(double epsilon, double delta);

// The smallest noise sigma (in units of C) with which `answers` answers of this sensitivity stay within
// (epsilon, delta): epsilon_from_rho(answers * gaussian_rho(sigma, sensitivity), delta).epsilon <= epsilon.
// Exact to a few ulps: sigma comes in closed form from max_rho_for_epsilon, then steps up ulp by ulp until the
// check above holds, so a sigma even 1e-9 smaller exceeds the budget. ValueError naming site.privacy.epsilon
// (not positive and finite, or below the conversion's floor), site.privacy.answers (< 1) or site.privacy.delta.
double noise_for_budget(double epsilon, double delta, int64_t answers, double sensitivity = kAnswerSensitivity);

// The ledger a site keeps of what each of its samples has spent. Per-sample totals are kept as rho (a double),
// so a later run with another sigma composes correctly on top of a loaded ledger.
class PrivacyLedger {
 public:
  // rho_per_answer: gaussian_rho(sigma) of one answer (0 when answers spend nothing); epsilon_budget: the most
  // epsilon a sample may spend at `delta`, 0 for no budget (can_answer never refuses; epsilons are still kept).
  PrivacyLedger(int64_t samples, double rho_per_answer, double epsilon_budget, double delta);

  // False when `times` more answers (repeats of the sample in one request) would push the sample's epsilon
  // above the budget. The decision is epsilon_from_rho's, exactly; a precomputed rho threshold only decides
  // clear cases quickly.
  bool can_answer(int64_t sample, int64_t times = 1) const;
  // Records `times` answers. It records them even past the budget (the caller asks can_answer first): a
  // ledger must hold what was spent, not what was allowed.
  void charge(int64_t sample, int64_t times = 1);

  double epsilon(int64_t sample) const;
  int64_t answers(int64_t sample) const;
  double rho(int64_t sample) const;
  // Over all samples; 0 when nothing was answered. Cached: epsilon is non-decreasing in rho, so it is the
  // epsilon of the largest rho, recomputed only when that changes.
  double max_epsilon() const;
  // Samples that cannot take one more answer (0 without a budget); kept up to date by charge.
  int64_t exhausted() const { return exhausted_; }

  // The rigorous site-wide bound, kept apart from the per-sample one: the discriminators never leave the site
  // but are trained on all its samples, so strictly every answer depends on every sample. The caller charges
  // each batch of B rows as gaussian_rho(sigma, kAnswerSensitivity * sqrt(B)) to this one accumulator.
  // can_answer does not consult it.
  void charge_everyone(double rho);
  double site_wide_rho() const { return site_wide_rho_; }
  double site_wide_epsilon() const;

  int64_t samples() const { return static_cast<int64_t>(rho_.size()); }
  double rho_per_answer() const { return rho_per_answer_; }
  double epsilon_budget() const { return budget_; }
  double delta() const { return delta_; }

  // Under `prefix`: "samples" (meta), "rho" (f64 [samples]), "answers" (i64 [samples]), "site_wide_rho"
  // (f64 [1], exact). The budget, delta and rho_per_answer are this run's settings and are not restored.
  // load refuses (ValueError) a ledger of another sample count and (FormatError) malformed entries.
  void save(Checkpoint& ckpt, const std::string& prefix) const;
  void load(const Checkpoint& ckpt, const std::string& prefix);

 private:
  void check_sample(int64_t sample, const char* what) const;
  bool fits(double rho) const;  // within the budget (always, without one)
  void recount();               // max rho and exhausted after a load

  std::vector<double> rho_;
  std::vector<int64_t> answers_;
  double rho_per_answer_, budget_, delta_;
  double rho_limit_ = 0;  // max_rho_for_epsilon(budget, delta), the fast path of fits()
  double max_rho_ = 0;
  mutable double max_eps_rho_ = 0;  // the max_rho_ that max_eps_ was computed for
  mutable double max_eps_ = 0;
  int64_t exhausted_ = 0;
  double site_wide_rho_ = 0;
};

}  // namespace asyndgan::dist
