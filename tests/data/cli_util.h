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
  std::string output;  // stdout and stderr together
};

// `args` follows the program name, e.g. "phantom --out DIR"; output goes through the file `log`.
inline CliResult run_cli(const std::string& args, const std::string& log) {
  const int status = std::system((std::string(ASYNDGAN_CLI) + " " + args + " >" + log + " 2>&1").c_str());
  CliResult r;
  r.code = status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  r.output = ss.str();
  return r;
}

}  // namespace asyndgan::test
