// Certificate generation with OpenSSL 3's EVP and X509 APIs; every file through an atomic write.
#include "dist/net/certs.h"
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>
#include "base/error.h"
#include "engine/io/file_io.h"

namespace asyndgan::net {

namespace {

namespace fs = std::filesystem;

template <class T, void (*Free)(T*)>
struct Freer {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Freer<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Freer<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Freer<BIO, BIO_free_all>>;

[[noreturn]] void fail(const std::string& what) { throw Error("certs: " + what + " failed in OpenSSL"); }

Key new_key() {
  Key k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!k) fail("generating an ECDSA P-256 key");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (!ext || X509_add_ext(cert, ext, -1) != 1) fail(msg("adding the extension ", value));
  X509_EXTENSION_free(ext);
}

// A certificate for `cn` with `key`, signed by (issuer, issuer_key), or self-signed when issuer is null.
Cert make_cert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, int days, bool ca, bool server) {
  Cert c(X509_new());
  if (!c) fail("allocating a certificate");
  uint64_t serial;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof serial) != 1) fail("drawing a serial number");
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(c.get()), serial >> 1);
  X509_set_version(c.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -300);  // a little clock skew between machines
  X509_gmtime_adj(X509_getm_notAfter(c.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("asyndgan run"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer ? issuer : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(signer));
  if (ca) {
    add_ext(c.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    add_ext(c.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_ext(c.get(), signer, NID_ext_key_usage, server ? "serverAuth" : "clientAuth");
    if (server) add_ext(c.get(), signer, NID_subject_alt_name, "DNS:central,DNS:localhost,IP:127.0.0.1,IP:::1");
  }
  add_ext(c.get(), signer, NID_subject_key_identifier, "hash");
  if (X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) fail("signing the certificate of " + cn);
  return c;
}

std::string pem(const std::function<int(BIO*)>& write) {
  Bio b(BIO_new(BIO_s_mem()));
  if (!b || write(b.get()) != 1) fail("writing PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

void write_file(const fs::path& path, const std::string& text, bool secret) {
  const mode_t old = ::umask(secret ? 077 : 022);  // the temporary, hence the file, gets 0600 / 0644
  AtomicFileWriter w(path.string());
  ::umask(old);
  w.write(text.data(), text.size());
  w.commit();
}

void check_name(const std::string& s, const std::vector<std::string>& seen) {
  if (s.empty()) throw ValueError("certs: an empty site name (--sites SiteA,SiteB)");
  if (s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != std::string::npos || s[0] == '.')
    throw ValueError(msg("certs: site name '", s, "' may hold only letters, digits, '_', '.' and '-' (it names files)"));
  if (s == "central" || s == "ca") throw ValueError(msg("certs: '", s, "' is the name of the run's own ", s, ", not a site"));
  if (std::find(seen.begin(), seen.end(), s) != seen.end()) throw ValueError(msg("certs: site '", s, "' is named twice"));
}

}  // namespace

std::vector<std::string> make_run_certs(const std::string& dir, const std::vector<std::string>& sites, int days, bool force) {
  if (sites.empty()) throw ValueError("certs: no sites (--sites SiteA,SiteB,...)");
  if (days < 1) throw ValueError(msg("certs: --days ", days, ": a certificate must be valid at least one day"));
  std::vector<std::string> seen;
  for (const auto& s : sites) {
    check_name(s, seen);
    seen.push_back(s);
  }
  const fs::path out(dir);
  std::vector<std::string> names = {"ca", "central"};
  names.insert(names.end(), sites.begin(), sites.end());
  std::error_code ec;
  for (const auto& n : names)
    for (const char* ext : {".pem", ".key"})
      if (!force && fs::exists(out / (n + ext), ec))
        throw IOError(msg("certs: ", (out / (n + ext)).string(), " exists; pass --force to replace the run's certificates "
                                                                  "(every role then needs the new ones)"));
  fs::create_directories(out);
  fs::permissions(out, fs::perms::owner_all, ec);
  std::vector<std::string> written;
  auto save = [&](const std::string& name, EVP_PKEY* key, X509* cert) {
    write_file(out / (name + ".key"), pem([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); }), true);
    write_file(out / (name + ".pem"), pem([&](BIO* b) { return PEM_write_bio_X509(b, cert); }), false);
    written.push_back((out / (name + ".pem")).string());
    written.push_back((out / (name + ".key")).string());
  };
  const Key ca_key = new_key();
  const Cert ca = make_cert("asyndgan run CA", ca_key.get(), nullptr, nullptr, days, true, false);
  save("ca", ca_key.get(), ca.get());
  for (size_t i = 1; i < names.size(); ++i) {
    const Key k = new_key();
    const Cert c = make_cert(names[i], k.get(), ca.get(), ca_key.get(), days, false, names[i] == "central");
    save(names[i], k.get(), c.get());
  }
  return written;
}

}  // namespace asyndgan::net
