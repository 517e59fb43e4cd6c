// NIfTI I/O tests: round trips of every datatype and both versions, scaling, orientation, agreement with
// Debian's nifti_tool (nifti-bin), a clear error for every kind of bad file, and crash-safe writes.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <sstream>
#include "data/nifti.h"
#include "base/error.h"
#include "engine/file_test_util.h"

namespace asyndgan::data::nifti_testing {
extern void (*after_temp_written)(const std::string& tmp_path);
}

namespace {

using namespace asyndgan;
using namespace asyndgan::data;
using asyndgan::test::contains_all;
using asyndgan::test::error_message;
using asyndgan::test::read_bytes;
using asyndgan::test::ScratchDir;
using asyndgan::test::write_bytes;

// ---- nifti_tool (package nifti-bin) ----

void require_nifti_tool() {
  static const bool found = std::system("command -v nifti_tool >/dev/null 2>&1") == 0;
  if (!found) FAIL("nifti_tool not found: install the nifti-bin package (apt-get install nifti-bin; `make deps` does this)");
}

// Runs nifti_tool with `args`; its stdout. REQUIREs that it succeeded and, since it exits 0 even when it
// could not write (e.g. asked to modify a .nii.gz), that it created `creates` when given.
std::string nifti_tool(const std::string& args, const std::string& creates = "") {
  require_nifti_tool();
  const std::string cmd = "nifti_tool " + args + " 2>&1";
  std::FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  INFO("command: " << cmd << "\noutput: " << out);
  REQUIRE(rc == 0);
  if (!creates.empty()) REQUIRE(std::filesystem::exists(creates));
  return out;
}

// A copy of the plain .nii `src` at `dst` with header fields changed by nifti_tool ("-mod_field F V ...").
// Modified in place (-overwrite) because nifti_tool 2.09's -mod_hdr2 -prefix writes the header alone.
void tool_modify(const std::string& src, const std::string& dst, int version, const std::string& fields) {
  write_bytes(dst, read_bytes(src));
  nifti_tool(std::string(version == 1 ? "-mod_hdr" : "-mod_hdr2") + " -overwrite " + fields + " -infiles '" + dst + "'", dst);
  REQUIRE(read_bytes(dst).size() == read_bytes(src).size());
}

// One header field as nifti_tool shows it.
std::string tool_field(const std::string& file, const std::string& field) {
  std::string s = nifti_tool("-disp_hdr -quiet -field " + field + " -infiles '" + file + "'");
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  return s;
}

std::vector<double> numbers(const std::string& text) {
  std::istringstream in(text);
  std::vector<double> v;
  double x;
  while (in >> x) v.push_back(x);
  return v;
}

// The raw (unscaled) voxels as nifti_tool reads them.
std::vector<double> tool_voxels(const std::string& file) {
  return numbers(nifti_tool("-disp_ci -1 -1 -1 0 0 0 0 -quiet -infiles '" + file + "'"));
}

// ---- volumes and bytes ----

Volume test_volume(std::array<int64_t, 3> dims, std::function<float(int64_t)> value, std::array<double, 3> spacing = {1.5, 2, 3}) {
  Volume v = make_volume(dims, spacing);
  for (int64_t i = 0; i < v.size(); ++i) v.voxels[static_cast<size_t>(i)] = value(i);
  return v;
}

// Values that reach each type's extremes, and a spread between them.
float range_value(NiftiDType t, int64_t i) {
  switch (t) {
    case NiftiDType::u8: { const float e[] = {0, 255, 1, 254}; return i < 4 ? e[i] : float((i * 37) % 256); }
    case NiftiDType::i16: { const float e[] = {-32768, 32767, 0, -1}; return i < 4 ? e[i] : float((i * 997) % 65536 - 32768); }
    case NiftiDType::u16: { const float e[] = {0, 65535, 1, 65534}; return i < 4 ? e[i] : float((i * 7919) % 65536); }
    case NiftiDType::i32: {
      // int32 extremes that a float holds exactly (2^31 - 1 is not one)
      const float e[] = {-2147483648.0f, 2147483520.0f, -16777216.0f, 16777216.0f};
      return i < 4 ? e[i] : float(i * 123457 - 9000000);
    }
    case NiftiDType::f32:
    case NiftiDType::f64: {
      const float e[] = {std::numeric_limits<float>::lowest(), std::numeric_limits<float>::max(),
                         std::numeric_limits<float>::min(), std::numeric_limits<float>::denorm_min(), -0.0f, 0.1f};
      return i < 6 ? e[i] : float(i) * 0.37f - 5.0f;
    }
  }
  return 0;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

template <class T>
void put(std::vector<char>& b, size_t off, T x, bool big_endian = false) {
  char tmp[sizeof(T)];
  std::memcpy(tmp, &x, sizeof(T));
  if (big_endian) std::reverse(tmp, tmp + sizeof(T));
  if (b.size() < off + sizeof(T)) b.resize(off + sizeof(T));
  std::memcpy(b.data() + off, tmp, sizeof(T));
}

std::vector<char> gunzip(const std::string& path) {
  gzFile g = gzopen(path.c_str(), "rb");
  REQUIRE(g != nullptr);
  std::vector<char> out;
  char buf[65536];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  gzclose(g);
  return out;
}

void gzip_to(const std::string& path, const std::vector<char>& bytes) {
  gzFile g = gzopen(path.c_str(), "wb");
  REQUIRE(g != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
  REQUIRE(gzclose(g) == Z_OK);
}

Affine rotated_affine(bool flip, double angle) {
  // rotation by `angle` about (1, 2, 3), times spacing (0.9, 1.1, 2.5), an optional x flip, and a shift
  const double ax[3] = {1 / std::sqrt(14.0), 2 / std::sqrt(14.0), 3 / std::sqrt(14.0)};
  const double c = std::cos(angle), s = std::sin(angle), sp[3] = {flip ? -0.9 : 0.9, 1.1, 2.5};
  const double K[3][3] = {{0, -ax[2], ax[1]}, {ax[2], 0, -ax[0]}, {-ax[1], ax[0], 0}};
  Affine a{};
  for (int r = 0; r < 3; ++r)
    for (int k = 0; k < 3; ++k) {
      double rot = (r == k ? c : 0) + s * K[r][k] + (1 - c) * ax[r] * ax[k];
      a[r][k] = rot * sp[k];
    }
  a[0][3] = -90.5, a[1][3] = 12.25, a[2][3] = 33;
  a[3][3] = 1;
  return a;
}

void check_affine_near(const Affine& got, const Affine& want, double tol) {
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      INFO("affine[" << r << "][" << c << "]");
      CHECK(std::fabs(got[r][c] - want[r][c]) <= tol * (1 + std::fabs(want[r][c])));
    }
}

const NiftiDType kAllTypes[] = {NiftiDType::u8, NiftiDType::i16, NiftiDType::u16, NiftiDType::i32, NiftiDType::f32, NiftiDType::f64};
const int kTypeCodes[] = {2, 4, 512, 8, 16, 64};

}  // namespace

TEST_CASE("nifti: every datatype round-trips in NIfTI-1 and NIfTI-2, .nii and .nii.gz, and nifti_tool agrees") {
  ScratchDir dir("nifti_roundtrip");
  for (int ti = 0; ti < 6; ++ti) {
    const NiftiDType t = kAllTypes[ti];
    const Volume v = test_volume({7, 5, 4}, [t](int64_t i) { return range_value(t, i); });
    for (int version : {1, 2})
      for (const char* ext : {".nii", ".nii.gz"}) {
        const std::string f = dir.file(std::string("v") + nifti_dtype_name(t) + "_" + std::to_string(version) + ext);
        INFO("file " << f);
        write_nifti(f, v, {t, version});
        NiftiInfo info;
        const Volume r = read_nifti(f, &info);
        CHECK(r.dims == v.dims);
        CHECK(same_bits(r.voxels, v.voxels));
        CHECK(r.affine == v.affine);
        CHECK(r.spacing == v.spacing);
        CHECK(info.version == version);
        CHECK(info.dtype == t);
        CHECK(info.scl_slope == 0);
        CHECK(info.sform_code == 1);
        CHECK(info.qform_code == 1);
        const std::vector<char> bytes = read_bytes(f);
        const bool gz = bytes.size() > 2 && uint8_t(bytes[0]) == 0x1f && uint8_t(bytes[1]) == 0x8b;
        CHECK(gz == (std::string(ext) == ".nii.gz"));
        // what the other tool sees in our file
        CHECK(tool_field(f, "sizeof_hdr") == (version == 1 ? "348" : "540"));
        CHECK(std::stoi(tool_field(f, "datatype")) == kTypeCodes[ti]);
        CHECK(tool_field(f, "dim") == "3 7 5 4 1 1 1 1");
        const std::vector<double> tv = tool_voxels(f);
        REQUIRE(tv.size() == v.voxels.size());
        for (size_t i = 0; i < tv.size(); ++i) {
          const double want = v.voxels[i];
          if (std::fabs(tv[i] - want) > 1e-6 + 1e-6 * std::fabs(want)) {
            FAIL_CHECK("voxel " << i << ": nifti_tool reads " << tv[i] << ", we wrote " << want);
            break;
          }
        }
      }
  }
}

TEST_CASE("nifti: integer types round to nearest and refuse values out of range, naming the file") {
  ScratchDir dir("nifti_int");
  const std::string f = dir.file("r.nii");
  Volume v = test_volume({4, 1, 1}, [](int64_t i) { const float x[] = {1.4f, 1.6f, -2.5f, 2.5f}; return x[i]; });
  write_nifti(f, v, {NiftiDType::i16});
  CHECK(read_nifti(f).voxels == std::vector<float>{1, 2, -3, 3});
  CHECK(tool_voxels(f) == std::vector<double>{1, 2, -3, 3});

  struct Case { NiftiDType t; float x; const char* range; };
  for (Case c : {Case{NiftiDType::u8, 256, "[0, 255]"}, Case{NiftiDType::u8, -1, "[0, 255]"},
                 Case{NiftiDType::i16, 32768, "[-32768, 32767]"}, Case{NiftiDType::u16, 65536, "[0, 65535]"},
                 Case{NiftiDType::i32, 2147483648.0f, "[-2147483648, 2147483647]"}}) {
    const std::string g = dir.file(std::string("bad_") + nifti_dtype_name(c.t) + ".nii.gz");
    Volume w = make_volume({3, 3, 3});
    w.at(1, 2, 0) = c.x;
    const std::string m = error_message<ValueError>([&] { write_nifti(g, w, {c.t}); });
    CHECK_MESSAGE(contains_all(m, {g, "(1, 2, 0)", c.range, nifti_dtype_name(c.t)}), m);
    CHECK(!std::filesystem::exists(g));
  }
  // out of range only before scaling: a slope brings it in
  Volume w = make_volume({2, 2, 2}, {1, 1, 1}, 1000.0f);
  write_nifti(f, w, {NiftiDType::u8, 1, 10.0, 0.0});
  CHECK(read_nifti(f).voxels == w.voxels);
  CHECK(tool_voxels(f) == std::vector<double>(8, 100.0));
  CHECK(dir.entries() == 1);  // no temporary files left behind
}

TEST_CASE("nifti: scl_slope and scl_inter are stored, applied on read, and honoured in files nifti_tool modified") {
  ScratchDir dir("nifti_scale");
  // ours: int16 raw k stands for -10 + 0.5 k
  const Volume v = test_volume({6, 5, 4}, [](int64_t i) { return -10.0f + 0.5f * float(i * 211 % 4001 - 2000); });
  for (int version : {1, 2}) {
    const std::string f = dir.file("s" + std::to_string(version) + ".nii.gz");
    write_nifti(f, v, {NiftiDType::i16, version, 0.5, -10.0});
    NiftiInfo info;
    CHECK(same_bits(read_nifti(f, &info).voxels, v.voxels));
    CHECK(info.scl_slope == 0.5);
    CHECK(info.scl_inter == -10.0);
    CHECK(tool_field(f, "scl_slope") == "0.5");
    CHECK(tool_field(f, "scl_inter") == "-10.0");
    const std::vector<double> raw = tool_voxels(f);
    REQUIRE(raw.size() == v.voxels.size());
    for (size_t i = 0; i < raw.size(); ++i) CHECK(raw[i] == double(i * 211 % 4001) - 2000.0);
  }
  // float storage with scaling keeps the values (to float rounding)
  const std::string ff = dir.file("f.nii");
  write_nifti(ff, v, {NiftiDType::f32, 1, 3.0, 7.0});
  const Volume rf = read_nifti(ff);
  for (size_t i = 0; i < v.voxels.size(); ++i) CHECK(rf.voxels[i] == doctest::Approx(v.voxels[i]).epsilon(1e-6));

  // theirs: nifti_tool sets the scaling on a plain uint8 file (NIfTI-1 and NIfTI-2)
  const Volume u = test_volume({6, 5, 4}, [](int64_t i) { return float(i); });
  for (int version : {1, 2}) {
    const std::string plain = dir.file("u" + std::to_string(version) + ".nii");
    const std::string scaled = dir.file("u" + std::to_string(version) + "_scaled.nii");
    const std::string zero = dir.file("u" + std::to_string(version) + "_zero.nii");
    write_nifti(plain, u, {NiftiDType::u8, version});
    tool_modify(plain, scaled, version, "-mod_field scl_slope 2.5 -mod_field scl_inter -3");
    tool_modify(plain, zero, version, "-mod_field scl_slope 0 -mod_field scl_inter 7");
    NiftiInfo info;
    const Volume r = read_nifti(scaled, &info);
    CHECK(info.version == version);
    CHECK(info.scl_slope == 2.5);
    CHECK(info.scl_inter == -3);
    for (int64_t i = 0; i < r.size(); ++i) CHECK(r.voxels[size_t(i)] == 2.5f * float(i) - 3.0f);
    CHECK(read_nifti(zero).voxels == u.voxels);  // slope 0 means no scaling, whatever the intercept
  }
}

TEST_CASE("nifti: a rotated, flipped affine survives, and the qform written equals the sform") {
  ScratchDir dir("nifti_orient");
  // 0.7 rad, and just short of a half turn, where the qform's quaternion is least precise
  for (double angle : {0.7, M_PI - 6e-4})
  for (bool flip : {false, true})
    for (int version : {1, 2}) {
      Volume v = test_volume({8, 6, 5}, [](int64_t i) { return float(i % 13); }, {0.9, 1.1, 2.5});
      v.affine = rotated_affine(flip, angle);
      const std::string tag = std::to_string(version) + (flip ? "f" : "") + (angle > 3 ? "h" : "");
      const std::string f = dir.file("o" + tag + ".nii.gz");
      INFO("file " << f);
      write_nifti(f, v, {NiftiDType::u8, version});
      NiftiInfo info;
      const Volume r = read_nifti(f, &info);
      check_affine_near(r.affine, v.affine, version == 1 ? 1e-6 : 1e-12);
      for (int c = 0; c < 3; ++c) CHECK(r.spacing[c] == doctest::Approx(v.spacing[c]).epsilon(1e-6));
      CHECK(info.sform_code == 1);
      CHECK(info.qform_code == 1);
      const std::vector<double> srow_x = numbers(tool_field(f, "srow_x"));
      REQUIRE(srow_x.size() == 4);
      for (int c = 0; c < 4; ++c) CHECK(srow_x[size_t(c)] == doctest::Approx(v.affine[0][c]).epsilon(1e-5));
      CHECK(tool_field(f, "pixdim").rfind(flip ? "-1.0" : "1.0", 0) == 0);  // qfac marks the flip
      // nifti_tool (which cannot modify .gz files, hence the inflated copy) drops the sform; what remains,
      // the qform, must give the same affine
      const std::string inflated = dir.file("i" + tag + ".nii");
      const std::string qonly = dir.file("q" + tag + ".nii");
      write_bytes(inflated, gunzip(f));
      tool_modify(inflated, qonly, version, "-mod_field sform_code 0");
      const Volume q = read_nifti(qonly, &info);
      CHECK(info.sform_code == 0);
      CHECK(info.qform_code == 1);
      check_affine_near(q.affine, v.affine, angle > 3 ? 1e-3 : version == 1 ? 1e-5 : 1e-9);
      CHECK(q.voxels == v.voxels);
    }
  // the BraTS affine, as the phantom writes it
  Volume b = make_volume({6, 6, 4});
  b.affine = brats_affine();
  const std::string bf = dir.file("brats.nii.gz");
  write_nifti(bf, b);
  CHECK(read_nifti(bf).affine == brats_affine());
  // no codes at all: the spacing alone
  const std::string nf = dir.file("nocode.nii"), bplain = dir.file("brats.nii");
  write_bytes(bplain, gunzip(bf));
  tool_modify(bplain, nf, 1, "-mod_field sform_code 0 -mod_field qform_code 0");
  const Volume n = read_nifti(nf);
  CHECK(n.affine == make_volume({1, 1, 1}).affine);
}

TEST_CASE("nifti: writing refuses what NIfTI cannot hold, naming the file") {
  ScratchDir dir("nifti_wbad");
  const std::string f = dir.file("w.nii.gz");
  Volume v = make_volume({3, 3, 3}, {1, 1, 1}, 1.0f);
  v.at(2, 1, 0) = std::nanf("");
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, v); }), {f, "(2, 1, 0)", "finite"}));
  v.at(2, 1, 0) = INFINITY;
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, v); }), {f, "finite"}));
  v.at(2, 1, 0) = 3e38f;
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, v, {NiftiDType::f32, 1, 1e-3}); }), {f, "overflows"}));
  v = make_volume({3, 3, 3});
  v.affine[0][1] = 0.5;  // shear
  v.spacing[1] = std::sqrt(1.25);
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, v); }), {f, "sheared"}));
  v = make_volume({3, 3, 3});
  v.spacing[2] = 2;  // disagrees with the affine
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, v); }), {f, "spacing[2]"}));
  v = make_volume({3, 3, 3});
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(dir.file("w.img"), v); }), {"w.img", ".nii"}));
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, v, {NiftiDType::f32, 3}); }), {f, "version"}));
  v.voxels.pop_back();
  CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, v); }), {f, "voxels"}));
  CHECK(contains_all(error_message<IOError>([&] { write_nifti(dir.file("no/such/dir/w.nii"), make_volume({2, 2, 2})); }),
                     {"no/such/dir/w.nii"}));
  CHECK(dir.entries() == 0);
}

TEST_CASE("nifti: files made by nifti_tool and files built byte by byte are read") {
  ScratchDir dir("nifti_theirs");
  // nifti_tool -make_im, every datatype, with a 4-D file holding a single volume
  for (int ti = 0; ti < 6; ++ti) {
    const std::string f = dir.file("made" + std::to_string(ti) + ".nii");
    nifti_tool("-make_im -prefix '" + f + "' -new_dims 4 6 5 4 1 0 0 0 -new_datatype " + std::to_string(kTypeCodes[ti]), f);
    NiftiInfo info;
    const Volume r = read_nifti(f, &info);
    CHECK(r.dims == std::array<int64_t, 3>{6, 5, 4});
    CHECK(info.dtype == kAllTypes[ti]);
    CHECK(r.voxels == std::vector<float>(120, 0.0f));
  }
  // nifti_tool copies our compressed file to a plain one; values unchanged
  const Volume v = test_volume({9, 7, 3}, [](int64_t i) { return float(i * 31 % 1000) - 500; });
  const std::string ours = dir.file("ours.nii.gz"), copy = dir.file("copy.nii");
  write_nifti(ours, v, {NiftiDType::i16});
  nifti_tool("-copy_im -prefix '" + copy + "' -infiles '" + ours + "'", copy);
  CHECK(read_nifti(copy).voxels == v.voxels);
  // nifti_tool byte-swaps a header: a big-endian file
  const std::string swapped = dir.file("swapped.nii");
  nifti_tool("-make_im -prefix '" + swapped + "' -new_dims 3 4 3 2 0 0 0 0 -new_datatype 2", swapped);
  nifti_tool("-swap_as_nifti -overwrite -infiles '" + swapped + "'");
  CHECK(read_bytes(swapped)[0] == 0);  // sizeof_hdr now big-endian
  CHECK(read_nifti(swapped).dims == std::array<int64_t, 3>{4, 3, 2});

  // a two-file .hdr/.img pair, as nifti_tool copies our file into one
  {
    const std::string hdr = dir.file("pair.hdr"), img = dir.file("pair.img");
    nifti_tool("-copy_im -prefix '" + hdr + "' -infiles '" + ours + "'", img);
    CHECK(tool_field(hdr, "magic") == "ni1");
    CHECK(read_nifti(hdr).voxels == v.voxels);
    std::filesystem::remove(img);
    CHECK(contains_all(error_message<IOError>([&] { read_nifti(hdr); }), {img, "No such file"}));
  }

  // big-endian NIfTI-1 int16 with an sform, written here byte by byte
  {
    std::vector<char> b(352, 0);
    const bool be = true;
    put<int32_t>(b, 0, 348, be);
    const int16_t dim[8] = {3, 3, 2, 2, 1, 1, 1, 1};
    for (int i = 0; i < 8; ++i) put<int16_t>(b, 40 + 2 * i, dim[i], be);
    put<int16_t>(b, 70, 4, be);   // int16
    put<int16_t>(b, 72, 16, be);  // bitpix
    const float pixdim[8] = {1, 2, 3, 4, 0, 0, 0, 0};
    for (int i = 0; i < 8; ++i) put<float>(b, 76 + 4 * i, pixdim[i], be);
    put<float>(b, 108, 352, be);
    put<int16_t>(b, 254, 2, be);  // sform_code aligned
    const float srow[12] = {0, -2, 0, 10, 3, 0, 0, 20, 0, 0, 4, 30};
    for (int i = 0; i < 12; ++i) put<float>(b, 280 + 4 * i, srow[i], be);
    std::memcpy(b.data() + 344, "n+1", 4);
    for (int i = 0; i < 12; ++i) put<int16_t>(b, 352 + 2 * i, int16_t(i * 1000 - 5000), be);
    const std::string f = dir.file("be.nii");
    write_bytes(f, b);
    NiftiInfo info;
    const Volume r = read_nifti(f, &info);
    CHECK(info.sform_code == 2);
    CHECK(info.qform_code == 0);
    for (int i = 0; i < 12; ++i) CHECK(r.voxels[size_t(i)] == float(i * 1000 - 5000));
    CHECK(r.affine == Affine{{{0, -2, 0, 10}, {3, 0, 0, 20}, {0, 0, 4, 30}, {0, 0, 0, 1}}});
    CHECK(r.spacing == std::array<double, 3>{3, 2, 4});
    CHECK(tool_voxels(f) == numbers("-5000 -4000 -3000 -2000 -1000 0 1000 2000 3000 4000 5000 6000"));
  }
  // little-endian NIfTI-2 float64, 2-D, gzip-compressed, built byte by byte
  {
    std::vector<char> b(544, 0);
    put<int32_t>(b, 0, 540);
    std::memcpy(b.data() + 4, "n+2\0\r\n\032\n", 8);
    put<int16_t>(b, 12, 64);
    put<int16_t>(b, 14, 64);
    const int64_t dim[8] = {2, 5, 2, 1, 1, 1, 1, 1};
    for (int i = 0; i < 8; ++i) put<int64_t>(b, 16 + 8 * i, dim[i]);
    for (int i = 0; i < 8; ++i) put<double>(b, 104 + 8 * i, i == 0 ? 0.0 : 0.5);
    put<int64_t>(b, 168, 544);
    put<double>(b, 176, 0.25);   // scl_slope
    put<double>(b, 184, 100.0);  // scl_inter
    for (int i = 0; i < 10; ++i) put<double>(b, 544 + 8 * i, double(i) * 4 - 2);
    const std::string f = dir.file("two.nii.gz");
    gzip_to(f, b);
    NiftiInfo info;
    const Volume r = read_nifti(f, &info);
    CHECK(info.version == 2);
    CHECK(info.dtype == NiftiDType::f64);
    CHECK(r.dims == std::array<int64_t, 3>{5, 2, 1});
    for (int i = 0; i < 10; ++i) CHECK(r.voxels[size_t(i)] == float((double(i) * 4 - 2) * 0.25 + 100));
    CHECK(r.affine == make_volume({1, 1, 1}, {0.5, 0.5, 0.5}).affine);
    CHECK(tool_field(f, "sizeof_hdr") == "540");
  }
}

TEST_CASE("nifti: every kind of bad file gives its own FormatError naming the file, quietly") {
  ScratchDir dir("nifti_bad");
  // noisy data so that the gzip stream is long enough to cut in the middle
  const Volume v = test_volume({16, 16, 16}, [](int64_t i) { return float(uint32_t(i * 2654435761u) % 100000) / 7.0f; });
  const std::string good = dir.file("good.nii"), goodgz = dir.file("good.nii.gz");
  write_nifti(good, v);
  write_nifti(goodgz, v);
  const std::vector<char> plain = read_bytes(good), packed = read_bytes(goodgz);
  REQUIRE(plain.size() == 352 + 16 * 16 * 16 * 4);

  struct Bad { std::string name, expect; };
  std::vector<Bad> cases;
  auto add = [&](const std::string& name, const std::vector<char>& bytes, const std::string& expect, bool gz = false) {
    if (gz) gzip_to(dir.file(name), bytes);
    else write_bytes(dir.file(name), bytes);
    cases.push_back({name, expect});
  };
  auto patched = [&](auto&&... edits) {
    std::vector<char> b = plain;
    (edits(b), ...);
    return b;
  };
  add("empty.nii", {}, "too short");
  add("header_cut.nii", std::vector<char>(plain.begin(), plain.begin() + 200), "truncated header");
  add("header_cut.nii.gz", std::vector<char>(plain.begin(), plain.begin() + 200), "truncated header", true);
  add("data_cut.nii", std::vector<char>(plain.begin(), plain.end() - 1000), "data is truncated");
  add("data_cut.nii.gz", std::vector<char>(packed.begin(), packed.begin() + long(packed.size() / 2)), "truncated");
  add("data_cut_inflated.nii.gz", std::vector<char>(plain.begin(), plain.end() - 4), "data is truncated", true);
  add("not_nifti.nii", std::vector<char>(400, 'x'), "not a NIfTI file");
  add("magic.nii", patched([](auto& b) { std::memcpy(b.data() + 344, "xyz", 4); }), "wrong magic");
  add("dims_big.nii", patched([](auto& b) { put<int16_t>(b, 42, 17); }), "dims are wrong");
  add("dims_small.nii", patched([](auto& b) { put<int16_t>(b, 42, 15); }), "dims do not match the data size");
  add("dims_small.nii.gz", patched([](auto& b) { put<int16_t>(b, 46, 15); }), "dims do not match the data size", true);
  add("dim_zero.nii", patched([](auto& b) { put<int16_t>(b, 44, 0); }), "dim[2] is 0");
  add("dim_negative.nii", patched([](auto& b) { put<int16_t>(b, 42, -16); }), "dim[1] is -16");
  add("dim0.nii", patched([](auto& b) { put<int16_t>(b, 40, 9); }), "dim[0] is 9");
  add("nan.nii", patched([](auto& b) { put<float>(b, 352 + 4 * (3 + 16 * (4 + 16 * 5)), std::nanf("")); }),
      "NaN");
  add("inf.nii.gz", patched([](auto& b) { put<float>(b, 352 + 4 * 7, -INFINITY); }), "-Inf", true);
  add("inf_scaled.nii", patched([](auto& b) { put<float>(b, 112, 1e36f); }), "after scl_slope");
  add("vox_offset.nii", patched([](auto& b) { put<float>(b, 108, 100.0f); }), "vox_offset");
  add("gz_named_plain.nii", packed, "gzip-compressed");
  add("corrupt.nii.gz", [&] { std::vector<char> b = packed; for (size_t i = b.size() / 2; i < b.size() / 2 + 64; ++i) b[i] = char(~b[i]); return b; }(),
      "gzip");
  {  // complex and RGB datatypes, and a real 4-D file, as nifti_tool makes them
    nifti_tool("-make_im -prefix '" + dir.file("complex.nii") + "' -new_dims 3 4 4 4 0 0 0 0 -new_datatype 32", dir.file("complex.nii"));
    nifti_tool("-make_im -prefix '" + dir.file("rgb.nii.gz") + "' -new_dims 3 4 4 4 0 0 0 0 -new_datatype 128", dir.file("rgb.nii.gz"));
    nifti_tool("-make_im -prefix '" + dir.file("four_d.nii.gz") + "' -new_dims 4 4 4 4 3 0 0 0 -new_datatype 16", dir.file("four_d.nii.gz"));
    cases.push_back({"complex.nii", "unsupported datatype COMPLEX64"});
    // nifti_tool 2.09's -mod_hdr2 -prefix writes a NIfTI-2 header with the voxels at the NIfTI-1 offset
    const std::string two = dir.file("two.nii"), cut = dir.file("header_only_by_tool.nii");
    write_nifti(two, v, {NiftiDType::f32, 2});
    nifti_tool("-mod_hdr2 -mod_field descrip cut -prefix '" + cut + "' -infiles '" + two + "'", cut);
    cases.push_back({"header_only_by_tool.nii", "data is truncated"});
    cases.push_back({"rgb.nii.gz", "unsupported datatype RGB24"});
    cases.push_back({"four_d.nii.gz", "4-D file with 3 volumes"});
  }

  // nifticlib must stay silent: capture stderr while reading the bad files
  const std::string err_file = dir.file("stderr.txt");
  std::fflush(stderr);
  const int saved = dup(2);
  std::FILE* capture = std::fopen(err_file.c_str(), "w");
  dup2(fileno(capture), 2);
  std::vector<std::string> messages;
  for (const Bad& c : cases) messages.push_back(error_message<FormatError>([&] { read_nifti(dir.file(c.name)); }));
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(capture);

  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("file " << cases[i].name << ": " << messages[i]);
    CHECK(contains_all(messages[i], {dir.file(cases[i].name), cases[i].expect}));
  }
  CHECK(read_bytes(err_file).empty());
  const std::string missing = dir.file("missing.nii.gz");
  CHECK(contains_all(error_message<IOError>([&] { read_nifti(missing); }), {missing, "No such file"}));
  CHECK(contains_all(error_message<IOError>([&] { read_nifti(dir.dir.string()); }), {dir.dir.string(), "regular file"}));
  CHECK(read_nifti(good).voxels == v.voxels);  // the originals were fine
}

namespace {
void corrupt_temp(const std::string& tmp) {
  std::vector<char> b = read_bytes(tmp);
  write_bytes(tmp, b, b.size() - 100);
}
void kill_self(const std::string&) { raise(SIGKILL); }
void throw_midway(const std::string&) { throw IOError("simulated interruption"); }
}  // namespace

TEST_CASE("nifti: a write that fails verification or is interrupted leaves the old file intact") {
  ScratchDir dir("nifti_atomic");
  const Volume old_v = test_volume({5, 4, 3}, [](int64_t i) { return float(i); });
  const Volume new_v = test_volume({5, 4, 3}, [](int64_t i) { return float(-i); });
  for (const char* ext : {".nii", ".nii.gz"}) {
    const std::string f = dir.file(std::string("dest") + ext);
    write_nifti(f, old_v);
    const std::vector<char> before = read_bytes(f);

    nifti_testing::after_temp_written = corrupt_temp;
    const std::string m = error_message<IOError>([&] { write_nifti(f, new_v); });
    nifti_testing::after_temp_written = nullptr;
    CHECK_MESSAGE(contains_all(m, {f, "verification after writing failed", "unchanged"}), m);
    CHECK(read_bytes(f) == before);
    CHECK(dir.entries() == (std::string(ext) == ".nii" ? 1u : 2u));  // the temporary is gone

    nifti_testing::after_temp_written = throw_midway;
    CHECK(error_message<IOError>([&] { write_nifti(f, new_v); }) == "simulated interruption");
    nifti_testing::after_temp_written = nullptr;
    CHECK(read_bytes(f) == before);

    // a process killed mid-write: the destination still holds the complete old file
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      nifti_testing::after_temp_written = kill_self;
      try { write_nifti(f, new_v); } catch (...) {}
      _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
    CHECK(read_bytes(f) == before);
    CHECK(read_nifti(f).voxels == old_v.voxels);
    int leftovers = 0;  // a killed writer leaves its temporary (hidden, beside the destination) and nothing else
    for (const auto& e : std::filesystem::directory_iterator(dir.dir))
      if (e.path().filename().string().rfind(".dest.tmp", 0) == 0) {
        ++leftovers;
        std::filesystem::remove(e.path());
      }
    CHECK(leftovers == 1);

    write_nifti(f, new_v);  // and a normal write replaces it
    CHECK(read_nifti(f).voxels == new_v.voxels);
  }
}

TEST_CASE("nifti: a write that fails verification, is interrupted or is refused leaves no file where there was none") {
  ScratchDir dir("nifti_atomic_new");
  const Volume v = test_volume({5, 4, 3}, [](int64_t i) { return float(i); });
  for (const char* ext : {".nii", ".nii.gz"}) {
    const std::string f = dir.file(std::string("fresh") + ext);
    nifti_testing::after_temp_written = corrupt_temp;
    CHECK(contains_all(error_message<IOError>([&] { write_nifti(f, v); }), {f, "verification after writing failed"}));
    nifti_testing::after_temp_written = throw_midway;
    CHECK(error_message<IOError>([&] { write_nifti(f, v); }) == "simulated interruption");
    nifti_testing::after_temp_written = nullptr;
    Volume too_big = v;
    too_big.voxels[0] = 1e6f;
    CHECK(contains_all(error_message<ValueError>([&] { write_nifti(f, too_big, {NiftiDType::u8}); }), {f, "[0, 255]"}));
    CHECK_FALSE(std::filesystem::exists(f));
    CHECK(dir.entries() == 0);  // nor any temporary
  }
}
