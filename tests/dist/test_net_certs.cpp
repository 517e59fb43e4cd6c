// `asyndgan certs` and make_run_certs: the files and their modes, the certificates' names and uses, refusing to
// overwrite, bad site names, and the verb through the CLI.
#include <doctest/doctest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <cstdio>
#include <filesystem>
#include "tests/data/cli_util.h"
#include "tests/dist/net_test_util.h"

using namespace asyndgan;
namespace fs = std::filesystem;

namespace {

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// The certificate in a PEM file, freed by the caller with X509_free.
X509* load_cert(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  REQUIRE(cert);
  return cert;
}

std::string common_name(X509* cert) {
  char cn[256] = "";
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  return cn;
}

}  // namespace

TEST_CASE("net: make_run_certs writes the CA, central and each site, keys 0600 in a new 0700 directory") {
  test::ScratchDir scratch("certs_modes");
  const std::string dir = scratch.file("run/certs");
  net::make_run_certs(dir, {"SiteA", "Site-B.2"}, 10, false);
  CHECK(mode_of(dir) == 0700);
  const std::vector<std::string> files = net::run_cert_files({"SiteA", "Site-B.2"});
  CHECK(files == std::vector<std::string>{"ca.key", "ca.pem", "central.key", "central.pem", "SiteA.key", "SiteA.pem",
                                          "Site-B.2.key", "Site-B.2.pem"});
  CHECK(static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator())) == files.size());
  for (const std::string& f : files) {
    CAPTURE(f);
    CHECK(mode_of(dir + "/" + f) == (f.ends_with(".key") ? 0600 : 0644));
  }

  X509* ca = load_cert(dir + "/ca.pem");
  X509* central = load_cert(dir + "/central.pem");
  X509* site = load_cert(dir + "/Site-B.2.pem");
  CHECK(common_name(ca).starts_with("asyndgan run CA"));
  CHECK(common_name(central) == "central");
  CHECK(common_name(site) == "Site-B.2");
  CHECK(X509_check_ca(ca) >= 1);
  CHECK(X509_check_ca(central) == 0);
  CHECK(X509_check_ca(site) == 0);
  CHECK(X509_check_purpose(central, X509_PURPOSE_SSL_SERVER, 0) == 1);
  CHECK(X509_check_purpose(site, X509_PURPOSE_SSL_CLIENT, 0) == 1);
  CHECK(X509_check_purpose(site, X509_PURPOSE_SSL_SERVER, 0) != 1);
  CHECK(X509_check_host(central, "localhost", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(central, "127.0.0.1", 0) == 1);
  EVP_PKEY* ca_key = X509_get0_pubkey(ca);
  CHECK(X509_verify(central, ca_key) == 1);
  CHECK(X509_verify(site, ca_key) == 1);
  CHECK(EVP_PKEY_get_base_id(X509_get0_pubkey(site)) == EVP_PKEY_EC);
  CHECK(EVP_PKEY_get_bits(X509_get0_pubkey(site)) == 256);
  // Valid for the days asked (plus the hour of slack before now).
  int days = 0, secs = 0;
  REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(site), X509_get0_notAfter(site)) == 1);
  CHECK(days == 10);
  X509_free(ca);
  X509_free(central);
  X509_free(site);
}

TEST_CASE("net: make_run_certs refuses to overwrite a run's files without force, before writing anything") {
  test::ScratchDir scratch("certs_overwrite");
  const std::string dir = scratch.file("certs");
  net::make_run_certs(dir, {"SiteA"}, 5, false);
  const std::string ca_before = test::read_text_file(dir + "/ca.pem");
  const std::string m = test::error_message<IOError>([&] { net::make_run_certs(dir, {"SiteA", "SiteB"}, 5, false); });
  CHECK(test::contains_all(m, {dir + "/ca.key", "exists", "--force"}));
  CHECK_FALSE(fs::exists(dir + "/SiteB.pem"));
  CHECK(test::read_text_file(dir + "/ca.pem") == ca_before);

  net::make_run_certs(dir, {"SiteA", "SiteB"}, 5, true);
  CHECK(test::read_text_file(dir + "/ca.pem") != ca_before);
  CHECK(fs::exists(dir + "/SiteB.pem"));
  CHECK(mode_of(dir + "/SiteB.key") == 0600);
  // The new files work together.
  CHECK_NOTHROW(net::TlsServer({dir + "/ca.pem", dir + "/central.pem", dir + "/central.key"}));
}

TEST_CASE("net: make_run_certs names a bad site name, a bad --days and an --out that is a file") {
  test::ScratchDir scratch("certs_names");
  const std::string dir = scratch.file("certs");
  const auto error = [&](const std::vector<std::string>& sites) {
    return test::error_message<ValueError>([&] { net::make_run_certs(dir, sites, 5, false); });
  };
  CHECK(test::contains_all(error({"SiteA", "Site A"}), {"'Site A'", "letters, digits"}));
  CHECK(test::contains_all(error({"SiteA", "Site/A"}), {"'Site/A'"}));
  CHECK(test::contains_all(error({"SiteA", ""}), {"empty site name"}));
  CHECK(test::contains_all(error({"SiteA", "SiteA"}), {"'SiteA'", "twice"}));
  CHECK(test::contains_all(error({"central"}), {"'central'", "cannot be a site's name"}));
  CHECK(test::contains_all(error({"CA"}), {"'CA'", "cannot be a site's name"}));
  CHECK(test::contains_all(error({".hidden"}), {"'.hidden'"}));
  CHECK(test::contains_all(error({}), {"--sites"}));
  CHECK(test::contains_all(test::error_message<ValueError>([&] { net::make_run_certs(dir, {"SiteA"}, 0, false); }),
                           {"--days", "got 0"}));
  CHECK_FALSE(fs::exists(dir));
  std::ofstream(scratch.file("file")) << "x";
  CHECK(test::contains_all(
      test::error_message<IOError>([&] { net::make_run_certs(scratch.file("file"), {"SiteA"}, 5, false); }),
      {scratch.file("file"), "not a directory"}));
}

TEST_CASE("net: the certs verb writes the files and says which go to which machine, and refuses to overwrite") {
  test::ScratchDir scratch("certs_cli");
  const std::string dir = scratch.file("certs"), log = scratch.file("log.txt");
  test::CliResult r = test::run_cli("certs --out " + dir + " --sites SiteA,SiteB --days 30", log);
  REQUIRE_MESSAGE(r.code == 0, r.output);
  CHECK(test::contains_all(r.output, {dir + "/SiteB.key", "central node:  ca.pem central.pem central.key",
                                      "site SiteA:", "ca.pem SiteA.pem SiteA.key", "ca.key stays here"}));
  CHECK(mode_of(dir + "/SiteA.key") == 0600);
  CHECK_NOTHROW(net::TlsClient({dir + "/ca.pem", dir + "/SiteB.pem", dir + "/SiteB.key"}));

  r = test::run_cli("certs --out " + dir + " --sites SiteA,SiteB", log);
  CHECK(r.code == 1);
  CHECK(test::contains_all(r.output, {"asyndgan certs: error:", dir + "/ca.key", "--force"}));
  r = test::run_cli("certs --out " + dir + " --sites SiteA,SiteB --force", log);
  CHECK(r.code == 0);
  r = test::run_cli("certs --out " + dir + " --sites SiteA,central --force", log);
  CHECK(r.code == 1);
  CHECK(test::contains_all(r.output, {"'central'"}));
  r = test::run_cli("certs --out " + dir, log);
  CHECK(r.code == 2);
  CHECK(test::contains_all(r.output, {"--sites"}));
}
