// The stop flag behind catch_stop_signals: set from the signal handler, read by the training loop.
#include "apps/stop_signal.h"
#include <csignal>
#include <unistd.h>

namespace asyndgan::app {
namespace {

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int sig) {
  if (g_stop) _exit(128 + sig);  // asked twice: do not wait for the step
  g_stop = sig;
  static const char note[] = "\ntrain: stop requested: finishing this iteration, then writing a checkpoint "
                             "(signal again to exit at once)\n";
  (void)!write(STDERR_FILENO, note, sizeof note - 1);
}

}  // namespace

void catch_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // blocking reads and waits go on; the loop looks at the flag between iterations
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

int stop_requested() { return g_stop; }

}  // namespace asyndgan::app
