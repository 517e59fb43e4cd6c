// A site's own privacy settings and its policy against probing: chosen by the hospital that runs the site, not
// by the central node (they are not in the run contract; the site's Hello declares them for the record).
#pragma once
#include <cstdint>
#include <string>
#include "dist/messages.h"

namespace asyndgan::dist {

// Differential privacy on what leaves the site (README, "Privacy"): each sample's row of dL/dG(x) is clipped to
// L2 norm `clip` and Gaussian noise of std sigma * clip is added, as GS-WGAN does for this message.
struct PrivacyOptions {
  double clip = 0;         // site.privacy.clip: L2 bound C on each sample's gradient (0: not clipped)
  double sigma = 0;        // site.privacy.sigma: noise std as a multiple of C (0: no noise)
  double epsilon = 0;      // site.privacy.epsilon: each sample's budget; spent, the site refuses it (0: none)
  double delta = 1e-5;     // site.privacy.delta: of the (epsilon, delta) guarantee
  int64_t answers = 0;     // site.privacy.answers: with epsilon and no sigma, the answers per sample to fit it
  bool drop_l1 = false;    // site.privacy.drop_l1: answer with the adversarial term only (no L1 to the real)
  bool noisy() const { return sigma > 0; }
  // The site keeps its per-step statistics (they are functions of its real images) when any defence is on.
  bool withholds_stats() const { return sigma > 0 || drop_l1; }
};

struct SitePolicy {
  PrivacyOptions privacy;
  // site.max_queries_per_sample: answers about one sample per epoch of the site (every n answered rows, n its
  // training samples); more are refused. A central node that walks its samples asks at most twice per such
  // window (once when its epochs and the site's line up); 0: no limit. A site whose batches are larger than its
  // training samples raises it to ceil(batch_per_site / n) + 1.
  int64_t max_queries_per_sample = 2;
  // Synthetic pixels outside [-limit, limit] (G ends in tanh: [-1, 1]) or not finite are refused.
  double pixel_limit = 1.0 + 1e-3;
};

// The policy checked and completed: sigma drawn from (epsilon, answers) when sigma is 0 (the smallest noise whose
// `answers` answers per sample fit the budget: dist/privacy_accountant.h); resolving a resolved policy changes nothing. ValueError naming the
// config key and the fix for a value out of range or a combination that guarantees nothing it seems to.
SitePolicy resolve_site_policy(SitePolicy p, const std::string& where);

// What a site declares of its policy in its Hello (site.privacy.*, site.max_queries_per_sample), for the central
// node's log and the record: the site decides, the central node only learns what it chose.
Settings declared_policy(const SitePolicy& p);

}  // namespace asyndgan::dist
