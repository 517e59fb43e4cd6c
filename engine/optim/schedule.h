// pix2pix's 'linear' learning-rate policy: constant for n_epochs_constant epochs, then linear decay.
#pragma once

namespace asyndgan::optim {

class Adam;

// factor(epoch) = 1 - max(0, epoch + epoch_count - n_epochs_constant) / (n_epochs_decay + 1), pix2pix's
// lambda_rule, with `epoch` the 0-based count of scheduler steps taken (PyTorch's last_epoch) and epoch_count
// the 1-based epoch training starts from (larger when resuming). With 100 + 100 and epoch_count 1, epochs
// 0..99 give 1, epoch 100 gives 100/101, and the last, 199, gives 1/101: near zero, never zero or negative
// within the schedule (later epochs go negative; the caller stops at n_epochs_constant + n_epochs_decay).
class LinearDecaySchedule {
 public:
  LinearDecaySchedule(int n_epochs_constant, int n_epochs_decay, int epoch_count = 1);
  double factor(int epoch) const;
  // Sets the optimizer's learning rate to base_lr * factor(epoch).
  void apply(Adam& opt, double base_lr, int epoch) const;

 private:
  int n_epochs_constant_, n_epochs_decay_, epoch_count_;
};

}  // namespace asyndgan::optim
