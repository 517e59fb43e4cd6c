// A run's CA and its certificates through OpenSSL 3's EVP and X509 APIs (dist/net/certs.h).
#include "dist/net/certs.h"
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <set>
#include "base/error.h"
#include "dist/net/tls_diagnosis.h"
#include "engine/io/file_io.h"

namespace asyndgan::net {
namespace {

namespace fs = std::filesystem;

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

constexpr int kMaxDays = 36500;

[[noreturn]] void fail(const std::string& what) {
  throw Error(msg("making the run's certificates: ", what, ": ", openssl_errors()));
}

PKey p256_key() {
  PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) fail("cannot make an ECDSA P-256 key");
  return key;
}

std::string random_hex(int bytes) {
  unsigned char raw[32];
  if (RAND_bytes(raw, bytes) != 1) fail("no random bytes");
  static const char* const digits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < bytes; ++i) out += {digits[raw[i] >> 4], digits[raw[i] & 15]};
  return out;
}

struct Extension {
  int nid;
  const char* value;
};

// A version 3 certificate for `cn`'s `key`, signed by the issuer (itself when issuer is null) with SHA-256.
Cert certificate(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, int days,
                 const std::vector<Extension>& extensions) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("cannot make a certificate");
  // A random 127-bit serial: unique without keeping a register, positive as RFC 5280 asks.
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    fail("cannot draw a serial number");
  // Valid from an hour ago: a machine whose clock is a little behind still accepts a certificate made now.
  if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr))
    fail("cannot set the validity dates");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                 -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1)
    fail("cannot name the certificate '" + cn + "'");
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  for (const Extension& e : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, e.nid, e.value);
    if (!ext || X509_add_ext(cert.get(), ext, -1) != 1) {
      X509_EXTENSION_free(ext);
      fail(msg("cannot add the extension ", OBJ_nid2sn(e.nid), " = ", e.value, " to '", cn, "'"));
    }
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) fail("cannot sign the certificate '" + cn + "'");
  return cert;
}

template <class Write>
std::string pem(Write write, const std::string& what) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) fail("cannot encode " + what + " as PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

void write_file(const std::string& path, const std::string& text, mode_t mode) {
  AtomicFileWriter w(path, mode);
  w.write(text.data(), text.size());
  w.commit();
}

// Writes NAME.key (0600) and NAME.pem (0644).
void write_pair(const std::string& dir, const std::string& name, EVP_PKEY* key, X509* cert) {
  write_file(dir + "/" + name + ".key",
             pem([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); },
                 name + "'s key"),
             0600);
  write_file(dir + "/" + name + ".pem",
             pem([&](BIO* b) { return PEM_write_bio_X509(b, cert); }, name + "'s certificate"), 0644);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

void check_site_names(const std::vector<std::string>& sites) {
  if (sites.empty()) throw ValueError("no sites: give --sites SiteA,SiteB,...");
  std::set<std::string> seen;
  for (const std::string& s : sites) {
    if (s.empty()) throw ValueError("an empty site name in --sites (a stray comma?)");
    for (const char c : s)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-')
        throw ValueError(
            msg("the site name '", s, "' has the character '", c, "': use letters, digits, '_', '.' and '-' only"));
    if (s.front() == '.')
      throw ValueError(
          msg("the site name '", s, "' starts with '.' (its files would be hidden): start it with a letter"));
    if (lower(s) == "central" || lower(s) == "ca")
      throw ValueError(msg("'", s,
                           "' cannot be a site's name: central.* and ca.* are the central node's "
                           "and the CA's files"));
    if (!seen.insert(s).second) throw ValueError(msg("the site '", s, "' is named twice in --sites"));
  }
}

std::vector<std::string> run_cert_files(const std::vector<std::string>& sites) {
  std::vector<std::string> files = {"ca.key", "ca.pem", "central.key", "central.pem"};
  for (const std::string& s : sites) {
    files.push_back(s + ".key");
    files.push_back(s + ".pem");
  }
  return files;
}

void make_run_certs(const std::string& dir, const std::vector<std::string>& sites, int days, bool force) {
  check_site_names(sites);
  if (days < 1 || days > kMaxDays) throw ValueError(msg("--days must be from 1 to ", kMaxDays, ", got ", days));
  if (dir.empty()) throw ValueError("no output directory: give --out DIR");
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw IOError(msg(dir, " exists and is not a directory: give --out a directory"));
  for (const std::string& f : run_cert_files(sites))
    if (!force && fs::exists(fs::path(dir) / f, ec))
      throw IOError(msg((fs::path(dir) / f).string(),
                        " exists: pass --force to replace this run's "
                        "certificates (every node then needs the new files), or choose another --out"));
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) throw IOError(msg("cannot create ", dir, ": ", ec.message()));
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);  // the keys' directory: 0700
    if (ec) throw IOError(msg("cannot make ", dir, " private (0700): ", ec.message()));
  }
  ERR_clear_error();

  const PKey ca_key = p256_key();
  // A random tag in the CA's name tells two runs' CAs apart to a person reading them (openssl x509 -subject).
  const Cert ca = certificate("asyndgan run CA " + random_hex(4), ca_key.get(), nullptr, ca_key.get(), days,
                              {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                               {NID_key_usage, "critical,keyCertSign,cRLSign"},
                               {NID_subject_key_identifier, "hash"}});
  write_pair(dir, "ca", ca_key.get(), ca.get());

  const auto leaf = [&](const std::string& name, const char* usage, const char* alt_names) {
    const PKey key = p256_key();
    std::vector<Extension> ext = {{NID_basic_constraints, "critical,CA:FALSE"},
                                  {NID_key_usage, "critical,digitalSignature"},
                                  {NID_ext_key_usage, usage},
                                  {NID_subject_key_identifier, "hash"},
                                  {NID_authority_key_identifier, "keyid:always"}};
    if (alt_names) ext.push_back({NID_subject_alt_name, alt_names});
    const Cert cert = certificate(name, key.get(), ca.get(), ca_key.get(), days, ext);
    write_pair(dir, name, key.get(), cert.get());
  };
  leaf("central", "serverAuth", "DNS:central,DNS:localhost,IP:127.0.0.1,IP:::1");
  for (const std::string& s : sites) leaf(s, "clientAuth", nullptr);
}

}  // namespace asyndgan::net
