// The run's certificates (`asyndgan certs`): a CA, and a key and certificate for the central node and for each
// site, which the TLS layer (tls.h) demands on both ends of every connection.
#pragma once
#include <string>
#include <vector>

namespace asyndgan::net {

// The files make_run_certs writes into `dir`, in the order written.
std::vector<std::string> run_cert_files(const std::vector<std::string>& sites);

// ValueError naming the bad name: empty, a character outside [A-Za-z0-9_.-], a leading '.', a repeat, or a
// reserved name ("central", "ca", in any case).
void check_site_names(const std::vector<std::string>& sites);

// Writes ca.pem and ca.key (a self-signed CA: CA:TRUE, keyCertSign), central.pem and central.key (CN "central",
// serverAuth, subjectAltName DNS:central, DNS:localhost, IP:127.0.0.1, IP:::1), and SITE.pem and SITE.key for
// each site (CN the site's name, clientAuth): ECDSA P-256 keys, certificates valid for `days` days (from an hour
// ago, for clocks that differ a little), signed with SHA-256. `dir` is made 0700 when missing; keys are 0600,
// certificates 0644, each written atomically. Refuses (IOError naming the file and --force) when any of the
// files exists, before writing anything, unless `force`.
void make_run_certs(const std::string& dir, const std::vector<std::string>& sites, int days, bool force);

}  // namespace asyndgan::net
