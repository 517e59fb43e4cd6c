// `asyndgan audit FILE`: a site's audit log (SITE_DIR/audit.jsonl) summarized for its security officer: every
// kind of message that left the site and that it received, how many, how many bytes, of which tensor shapes, and
// whether anything but a Hello and the condition maps once per connection (a site that reconnects mid-run says
// Hello again), and gradients, left it; and the privacy its gradients spent and the rows it refused.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include "apps/commands.h"
#include "apps/io/jsonl.h"
#include "base/error.h"

namespace asyndgan::app {
namespace {

struct Kind {
  int64_t count = 0, bytes = 0, first_step = INT64_MAX, last_step = INT64_MIN;
  std::set<std::string> tensors;
  std::string first_time, last_time;
};

std::string human(int64_t bytes) {
  char b[32];
  if (bytes >= (int64_t{1} << 30)) std::snprintf(b, sizeof b, "%.2f GiB", bytes / double(int64_t{1} << 30));
  else if (bytes >= (1 << 20)) std::snprintf(b, sizeof b, "%.2f MiB", bytes / double(1 << 20));
  else if (bytes >= (1 << 10)) std::snprintf(b, sizeof b, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(b, sizeof b, "%lld B", static_cast<long long>(bytes));
  return b;
}

int run_audit(const std::string& path) {
  const JsonlContents log = read_jsonl(path);
  std::map<std::pair<std::string, std::string>, Kind> kinds;  // (direction, type)
  // The site's privacy record, on the gradients it sent (absent in logs of sites without a policy's state).
  double epsilon = 0, site_wide = 0;
  int64_t refused = 0;
  for (size_t i = 0; i < log.records.size(); ++i) {
    const Json& r = log.records[i];
    try {
      Kind& k = kinds[{r.at("dir").get<std::string>(), r.at("type").get<std::string>()}];
      ++k.count;
      k.bytes += r.at("bytes").get<int64_t>();
      const int64_t step = r.at("step").get<int64_t>();
      k.first_step = std::min(k.first_step, step);
      k.last_step = std::max(k.last_step, step);
      for (const Json& t : r.at("tensors")) k.tensors.insert(t.get<std::string>());
      if (r.contains("epsilon")) {
        epsilon = std::max(epsilon, r.at("epsilon").get<double>());
        site_wide = std::max(site_wide, r.value("site_wide_epsilon", 0.0));
        refused = std::max(refused, r.value("refused_rows", int64_t{0}));
      }
      if (k.first_time.empty()) k.first_time = r.at("time").get<std::string>();
      k.last_time = r.at("time").get<std::string>();
    } catch (const Json::exception& e) {
      throw FormatError(msg(path, ":", i + 1, ": not an audit record (", e.what(), ")"));
    }
  }
  std::printf("%s: %zu messages%s\n", path.c_str(), log.records.size(), log.torn_tail ? " (and a torn last line)" : "");
  std::vector<std::string> unexpected;
  for (const char* dir : {"sent", "received"}) {
    std::printf("%s:\n", dir);
    for (const auto& [key, k] : kinds) {
      if (key.first != dir) continue;
      std::string tensors;
      for (const auto& t : k.tensors) tensors += (tensors.empty() ? "" : "; ") + t;
      std::printf("  %-10s x%-7lld %11s  steps %lld..%lld  %s .. %s%s%s\n", key.second.c_str(), static_cast<long long>(k.count),
                  human(k.bytes).c_str(), static_cast<long long>(k.first_step), static_cast<long long>(k.last_step),
                  k.first_time.c_str(), k.last_time.c_str(), tensors.empty() ? "" : "  ", tensors.c_str());
      if (key.first == "sent" && key.second != "hello" && key.second != "conditions" && key.second != "gradient" &&
          key.second != "failure")
        unexpected.push_back(msg("a '", key.second, "' message was sent"));
    }
  }
  if (epsilon > 0 || refused > 0)
    std::printf("privacy: the gradients sent were noised to epsilon %.4g per sample (the most any sample spent; site-wide "
                "bound %.4g); %lld row(s) of the central node's requests refused\n",
                epsilon, site_wide, static_cast<long long>(refused));
  // One upload per connection, of the same samples each time: a reconnecting site sends what it sent before.
  const Kind& hellos = kinds[{"sent", "hello"}];
  const Kind& uploads = kinds[{"sent", "conditions"}];
  if (uploads.count != hellos.count)
    unexpected.push_back(msg("condition maps were sent ", uploads.count, " times over ", hellos.count,
                             " connections (one upload per connection is expected)"));
  if (uploads.tensors.size() > 1)
    unexpected.push_back(msg("the condition maps sent differ in shape between connections (", uploads.tensors.size(),
                             " shapes): the site uploaded other samples on reconnecting"));
  if (unexpected.empty()) {
    std::printf("verdict: only the site's Hello (counts and channel names) and its condition maps, once per connection "
                "(%lld connection%s), and gradients w.r.t. synthetic images left this site; no real image, "
                "discriminator or sample id can be carried by these message types\n",
                static_cast<long long>(hellos.count), hellos.count == 1 ? "" : "s");
    return 0;
  }
  for (const auto& u : unexpected) std::printf("attention: %s\n", u.c_str());
  return 3;
}

}  // namespace

Verb add_audit(CLI::App& cli) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = cli.add_subcommand("audit", "summarize a site's audit log: what left the site and what it received");
  cmd->add_option("FILE", *path, "the site's audit log, SITE_DIR/audit.jsonl")->required()->check(CLI::ExistingFile);
  cmd->footer("Exit status 0 when only Hello and condition maps (once per connection) and gradients left the site; "
              "3 otherwise.");
  return {cmd, [path] { return run_audit(*path); }};
}

}  // namespace asyndgan::app
