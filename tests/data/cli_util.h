// Runs the built `asyndgan` CLI (path in ASYNDGAN_CLI) from a test and captures its exit code and output.
#pragma once
#include <sys/wait.h>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace asyndgan::test {

struct CliResult {
  int code = -1;       // exit status; 128 when killed by a signal, -1 when it could not start
  std::string output;  // stdout and stderr together (run_cli); stdout alone (run_cli_streams)
  std::string errors;  // stderr alone (run_cli_streams only)
};

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `redirects` follow the command line, e.g. " >log 2>&1".
inline int run_cli_status(const std::string& args, const std::string& redirects) {
  const int status = std::system((std::string(ASYNDGAN_CLI) + " " + args + redirects).c_str());
  return status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// `args` follows the program name, e.g. "phantom --out DIR"; output goes through the file `log`.
inline CliResult run_cli(const std::string& args, const std::string& log) {
  CliResult r;
  r.code = run_cli_status(args, " >" + log + " 2>&1");
  r.output = read_text_file(log);
  return r;
}

// As run_cli, with stdout (through `log`) and stderr (through `log`.err) kept apart.
inline CliResult run_cli_streams(const std::string& args, const std::string& log) {
  CliResult r;
  r.code = run_cli_status(args, " >" + log + " 2>" + log + ".err");
  r.output = read_text_file(log);
  r.errors = read_text_file(log + ".err");
  return r;
}

}  // namespace asyndgan::test
