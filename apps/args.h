// Command-line options of one subcommand: `--name value` pairs and `--flag`s, checked against the options
// the subcommand declares, so an unknown or malformed option is an error that names it.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace asyndgan::app {

class Args {
 public:
  // valued: options that take a value; flags: options that do not. argv[0] is the subcommand's name.
  Args(int argc, char** argv, std::set<std::string> valued, std::set<std::string> flags = {});

  bool has(const std::string& name) const;
  std::string str(const std::string& name, const std::string& fallback) const;
  std::string required(const std::string& name) const;  // ValueError when absent
  long long integer(const std::string& name, long long fallback) const;  // ValueError when not an integer
  double number(const std::string& name, double fallback) const;
  bool flag(const std::string& name) const { return flags_set_.count(name) > 0; }
  // Values of a comma-separated option, e.g. --missing SiteC:t2,SiteB:t1 (empty when absent).
  std::vector<std::string> list(const std::string& name) const;
  // Every value of an option given more than once, in order (--set a=1 --set b=2); str() sees the last.
  std::vector<std::string> all(const std::string& name) const;
  // Exactly `count` comma-separated integers or numbers, e.g. --size 240,240,155 (ValueError otherwise).
  std::vector<long long> integers(const std::string& name, size_t count) const;
  std::vector<double> numbers(const std::string& name, size_t count) const;

 private:
  std::string command_;
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> repeated_;
  std::set<std::string> flags_set_;
};

}  // namespace asyndgan::app
