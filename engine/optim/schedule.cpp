// The linear-decay learning-rate policy.
#include "engine/optim/schedule.h"
#include <algorithm>
#include "base/error.h"
#include "engine/optim/adam.h"

namespace asyndgan::optim {

LinearDecaySchedule::LinearDecaySchedule(int n_epochs_constant, int n_epochs_decay, int epoch_count)
    : n_epochs_constant_(n_epochs_constant), n_epochs_decay_(n_epochs_decay), epoch_count_(epoch_count) {
  if (n_epochs_constant < 0 || n_epochs_decay < 0)
    throw ValueError(msg("LinearDecaySchedule: epoch counts must be non-negative, got ", n_epochs_constant, " + ",
                         n_epochs_decay));
}

double LinearDecaySchedule::factor(int epoch) const {
  if (epoch < 0) throw ValueError(msg("LinearDecaySchedule: epoch must be non-negative, got ", epoch));
  const int past = std::max(0, epoch + epoch_count_ - n_epochs_constant_);
  return 1.0 - static_cast<double>(past) / static_cast<double>(n_epochs_decay_ + 1);
}

void LinearDecaySchedule::apply(Adam& opt, double base_lr, int epoch) const { opt.set_lr(base_lr * factor(epoch)); }

}  // namespace asyndgan::optim
