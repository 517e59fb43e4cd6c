// A run's certificates (asyndgan certs): a CA of the run, and a key and certificate for the central node and for
// each site, the name in the certificate's CN. ECDSA P-256, through OpenSSL 3.
#pragma once
#include <string>
#include <vector>

namespace asyndgan::net {

// Writes ca.pem, ca.key, central.pem, central.key, <site>.pem, <site>.key into `dir` (created 0700); keys are
// 0600. ValueError for a bad or repeated site name; IOError naming an existing file unless `force`.
// Returns the files written.
std::vector<std::string> make_run_certs(const std::string& dir, const std::vector<std::string>& sites, int days, bool force);

}  // namespace asyndgan::net
