// The process-wide accumulator behind engine/profile.h: a mutex-guarded map, touched only while profiling is on.
#include "engine/profile.h"
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace asyndgan::profile {
namespace {

bool from_environment() {
  const char* v = std::getenv("ASYNDGAN_PROFILE");
  return v && *v && std::strcmp(v, "0") != 0;
}

struct Totals {
  std::mutex mutex;
  std::map<std::string, Entry, std::less<>> entries;
};

Totals& totals() {
  static Totals* t = new Totals;  // leaked on purpose: a Scope in a static destructor may still add to it
  return *t;
}

}  // namespace

namespace detail {
std::atomic<bool> enabled_flag{from_environment()};

void add(const char* name, double seconds) {
  Totals& t = totals();
  std::lock_guard lock(t.mutex);
  auto it = t.entries.find(std::string_view(name));
  if (it == t.entries.end()) it = t.entries.emplace(name, Entry{name, 0, 0}).first;
  it->second.seconds += seconds;
  ++it->second.calls;
}
}  // namespace detail

void set_enabled(bool on) { detail::enabled_flag.store(on, std::memory_order_relaxed); }

std::vector<Entry> snapshot() {
  Totals& t = totals();
  std::lock_guard lock(t.mutex);
  std::vector<Entry> out;
  out.reserve(t.entries.size());
  for (const auto& [name, e] : t.entries) out.push_back(e);
  return out;
}

void reset() {
  Totals& t = totals();
  std::lock_guard lock(t.mutex);
  t.entries.clear();
}

}  // namespace asyndgan::profile
