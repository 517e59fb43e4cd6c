// Option parsing shared by the subcommands.
#include "apps/args.h"
#include "base/error.h"
#include "engine/io/text.h"

namespace asyndgan::app {

static std::string known_list(const std::set<std::string>& valued, const std::set<std::string>& flags) {
  std::string s;
  for (const auto& v : valued) s += (s.empty() ? "" : ", ") + v + " VALUE";
  for (const auto& f : flags) s += (s.empty() ? "" : ", ") + f;
  return s.empty() ? "none" : s;
}

Args::Args(int argc, char** argv, std::set<std::string> valued, std::set<std::string> flags) : command_(argv[0]) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (valued.count(a)) {
      if (i + 1 >= argc) throw ValueError(command_ + ": option " + a + " needs a value");
      values_[a] = argv[++i];
      repeated_[a].push_back(values_[a]);
    } else if (flags.count(a)) {
      flags_set_.insert(a);
    } else {
      throw ValueError(command_ + ": unknown option '" + a + "' (known: " + known_list(valued, flags) + ")");
    }
  }
}

bool Args::has(const std::string& name) const { return values_.count(name) > 0; }

std::string Args::str(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second;
}

std::string Args::required(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw ValueError(command_ + ": option " + name + " is required");
  return it->second;
}

long long Args::integer(const std::string& name, long long fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  auto v = parse_integer(it->second);
  if (!v) throw ValueError(command_ + ": option " + name + " takes an integer, got '" + it->second + "'");
  return *v;
}

double Args::number(const std::string& name, double fallback) const {
  auto it = values_.find(name);
  if (it == values_.end()) return fallback;
  auto v = parse_number(it->second);
  if (!v) throw ValueError(command_ + ": option " + name + " takes a number, got '" + it->second + "'");
  return *v;
}

std::vector<std::string> Args::list(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : split_commas(it->second);
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = repeated_.find(name);
  return it == repeated_.end() ? std::vector<std::string>{} : it->second;
}

std::vector<long long> Args::integers(const std::string& name, size_t count) const {
  std::vector<long long> out;
  for (const std::string& item : list(name)) {
    auto v = parse_integer(item);
    if (!v) throw ValueError(command_ + ": option " + name + " takes " + std::to_string(count) +
                             " comma-separated integers, got '" + str(name, "") + "'");
    out.push_back(*v);
  }
  if (out.size() != count)
    throw ValueError(command_ + ": option " + name + " takes " + std::to_string(count) +
                     " comma-separated integers, got '" + str(name, "") + "'");
  return out;
}

std::vector<double> Args::numbers(const std::string& name, size_t count) const {
  std::vector<double> out;
  for (const std::string& item : list(name)) {
    auto v = parse_number(item);
    if (!v) throw ValueError(command_ + ": option " + name + " takes " + std::to_string(count) +
                             " comma-separated numbers, got '" + str(name, "") + "'");
    out.push_back(*v);
  }
  if (out.size() != count)
    throw ValueError(command_ + ": option " + name + " takes " + std::to_string(count) +
                     " comma-separated numbers, got '" + str(name, "") + "'");
  return out;
}

}  // namespace asyndgan::app
