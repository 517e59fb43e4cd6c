// SIGTERM and SIGINT as a request to stop a training run at the next iteration boundary, with a checkpoint
// (cluster schedulers send SIGTERM some time before they preempt a job).
#pragma once

namespace asyndgan::app {

// Replaces the two signals' default action (exit at once) with a flag; a second signal of either kind exits at
// once, for a user who does not want to wait for the step to end. Call once, before the loop that polls.
void catch_stop_signals();
// The signal that asked the run to stop (SIGTERM or SIGINT), or 0.
int stop_requested();

}  // namespace asyndgan::app
