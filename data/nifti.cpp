// NIfTI-1/-2 reading and writing. nifticlib interprets and builds the headers (versions, byte order, qform
// and sform math); the voxel bytes go through zlib here, checked at every step, because nifticlib silently
// zeroes NaN/Inf floats on read and, in Debian's 3.0.1, writes a NIfTI-2 .nii as a broken two-file pair.
#include "data/nifti.h"
#include <nifti2_io.h>
#include <sys/stat.h>
#include <zlib.h>
#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <mutex>
#include <type_traits>
#include <vector>
#include "base/error.h"
#include "engine/io/file_io.h"

namespace asyndgan::data {

namespace nifti_testing {
// Called once the temporary file is written, before it is verified. Tests corrupt the file or kill the
// process here to prove the destination survives; nullptr in normal use. Not part of the public API.
void (*after_temp_written)(const std::string& tmp_path) = nullptr;
}  // namespace nifti_testing

const char* nifti_dtype_name(NiftiDType t) {
  switch (t) {
    case NiftiDType::u8: return "uint8";
    case NiftiDType::i16: return "int16";
    case NiftiDType::u16: return "uint16";
    case NiftiDType::i32: return "int32";
    case NiftiDType::f32: return "float32";
    case NiftiDType::f64: return "float64";
  }
  return "?";
}

namespace {

// More voxel bytes than this is a corrupt header, not a scan; refusing it avoids a huge allocation.
constexpr int64_t kMaxDataBytes = int64_t(1) << 34;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    nifti_set_debug_level(0);  // never print; every failure becomes our exception
    nifti_set_allow_upper_fext(1);
  });
}

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FormatError(msg(path, ": ", what));
}

std::string errno_text() { return std::strerror(errno); }

// zlib's description of the error on `g`, without the file name it prefixes; sets *code when given.
std::string zlib_text(gzFile g, int* code = nullptr) {
  int err = Z_OK;
  std::string s = gzerror(g, &err);
  if (code) *code = err;
  if (err == Z_ERRNO) return errno_text();
  const size_t colon = s.rfind(": ");
  return colon == std::string::npos ? s : s.substr(colon + 2);
}

bool ends_with(const std::string& s, const char* suffix) {
  const size_t n = std::strlen(suffix);
  if (s.size() < n) return false;
  for (size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(s[s.size() - n + i])) != suffix[i]) return false;
  return true;
}

int dtype_code(NiftiDType t) {
  switch (t) {
    case NiftiDType::u8: return NIFTI_TYPE_UINT8;
    case NiftiDType::i16: return NIFTI_TYPE_INT16;
    case NiftiDType::u16: return NIFTI_TYPE_UINT16;
    case NiftiDType::i32: return NIFTI_TYPE_INT32;
    case NiftiDType::f32: return NIFTI_TYPE_FLOAT32;
    case NiftiDType::f64: return NIFTI_TYPE_FLOAT64;
  }
  return 0;
}

bool dtype_from_code(int code, NiftiDType* t) {
  for (NiftiDType d : {NiftiDType::u8, NiftiDType::i16, NiftiDType::u16, NiftiDType::i32, NiftiDType::f32, NiftiDType::f64})
    if (dtype_code(d) == code) {
      *t = d;
      return true;
    }
  return false;
}

int dtype_bytes(NiftiDType t) {
  switch (t) {
    case NiftiDType::u8: return 1;
    case NiftiDType::i16: case NiftiDType::u16: return 2;
    case NiftiDType::i32: case NiftiDType::f32: return 4;
    case NiftiDType::f64: return 8;
  }
  return 0;
}

// ---- Header checks, done on the raw bytes before nifticlib sees the file ----

struct Header {
  int version = 1;
  bool two_file = false;  // "ni1"/"ni2": voxels in a separate .img
  bool swapped = false;
  NiftiDType dtype = NiftiDType::f32;
  int64_t dim[8] = {};
  int64_t vox_offset = 0;
  int64_t data_bytes = 0;
  std::vector<unsigned char> raw;  // the header as stored, for nifticlib (which does its own byte swapping)
  std::string data_path;           // the .img of a pair, else the file itself
};

bool is_gzip(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char m[2] = {0, 0};
  const size_t n = std::fread(m, 1, 2, f);
  std::fclose(f);
  return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

uint64_t file_size(const std::string& path, const char* role) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw IOError(msg(path, ": cannot open ", role, " (", errno_text(), ") (check the path)"));
  if (!S_ISREG(st.st_mode)) throw IOError(msg(path, ": not a regular file (give the path of a .nii or .nii.gz file)"));
  return static_cast<uint64_t>(st.st_size);
}

// Up to n bytes from the start, decompressed when gzip (zlib reads plain files transparently).
std::vector<unsigned char> read_head(const std::string& path, size_t n) {
  gzFile g = gzopen(path.c_str(), "rb");
  if (!g) throw IOError(msg(path, ": cannot open (", errno_text(), ")"));
  std::vector<unsigned char> buf(n);
  const int got = gzread(g, buf.data(), static_cast<unsigned>(n));
  const std::string zmsg = got < 0 ? zlib_text(g) : "";
  gzclose(g);
  if (got < 0) fail(path, msg("corrupt gzip data (zlib: ", zmsg, ") (re-copy or re-export the file)"));
  buf.resize(static_cast<size_t>(got));
  return buf;
}

std::string dims_text(const int64_t* dim) {
  std::string s;
  for (int i = 1; i <= dim[0]; ++i) {
    if (i > 1) s += 'x';
    s += std::to_string(dim[i]);
  }
  return s;
}

// Checks the header of `path` and that the data the dims promise is there, exactly.
Header check_header(const std::string& path) {
  const uint64_t size = file_size(path, "the file");
  const bool gz = is_gzip(path);
  if (gz && !ends_with(path, ".gz"))
    fail(path, "the file is gzip-compressed but its name does not end in .gz (rename it to .nii.gz)");
  const std::vector<unsigned char> head = read_head(path, sizeof(nifti_2_header));
  if (head.size() < 4)
    fail(path, msg("too short to be NIfTI (", head.size(), " bytes; an empty or cut file: re-copy it)"));

  Header h;
  int32_t sizeof_hdr;
  std::memcpy(&sizeof_hdr, head.data(), 4);
  if (sizeof_hdr == 348 || sizeof_hdr == 540) {
    h.version = sizeof_hdr == 348 ? 1 : 2;
  } else if (__builtin_bswap32(static_cast<uint32_t>(sizeof_hdr)) == 348u ||
             __builtin_bswap32(static_cast<uint32_t>(sizeof_hdr)) == 540u) {
    h.version = __builtin_bswap32(static_cast<uint32_t>(sizeof_hdr)) == 348u ? 1 : 2;
    h.swapped = true;
  } else {
    fail(path, msg("not a NIfTI file: sizeof_hdr is ", sizeof_hdr,
                   ", expected 348 (NIfTI-1) or 540 (NIfTI-2) (check that this is a .nii or .nii.gz file)"));
  }
  const size_t hdr_bytes = h.version == 1 ? 348 : 540;
  if (head.size() < hdr_bytes)
    fail(path, msg("truncated header: ", head.size(), " of ", hdr_bytes,
                   " bytes (the file was cut short; re-copy or re-export it)"));

  int datatype;
  double vox_offset;
  if (h.version == 1) {
    nifti_1_header n1;
    std::memcpy(&n1, head.data(), sizeof n1);
    if (h.swapped) nifti_swap_as_nifti1(&n1);
    const bool single = std::memcmp(n1.magic, "n+1", 4) == 0, pair = std::memcmp(n1.magic, "ni1", 4) == 0;
    if (!single && !pair)
      fail(path, msg("wrong magic \"", std::string(n1.magic, strnlen(n1.magic, 4)),
                     "\", expected \"n+1\" or \"ni1\" (not NIfTI-1; an ANALYZE 7.5 file must be converted to NIfTI)"));
    h.two_file = pair;
    for (int i = 0; i < 8; ++i) h.dim[i] = n1.dim[i];
    datatype = n1.datatype;
    vox_offset = n1.vox_offset;
  } else {
    nifti_2_header n2;
    std::memcpy(&n2, head.data(), sizeof n2);
    if (h.swapped) nifti_swap_as_nifti2(&n2);
    const bool single = std::memcmp(n2.magic, "n+2", 4) == 0, pair = std::memcmp(n2.magic, "ni2", 4) == 0;
    if (!single && !pair)
      fail(path, msg("wrong magic \"", std::string(n2.magic, strnlen(n2.magic, 4)),
                     "\", expected \"n+2\" or \"ni2\" (not NIfTI-2)"));
    // nifticlib itself writes zeros there; anything else means a text-mode transfer mangled the file
    if (std::memcmp(n2.magic + 4, "\r\n\032\n", 4) != 0 && std::memcmp(n2.magic + 4, "\0\0\0\0", 4) != 0)
      fail(path, "damaged magic: its line-ending bytes were altered (the file went through a text-mode transfer; copy it in binary mode)");
    h.two_file = pair;
    for (int i = 0; i < 8; ++i) h.dim[i] = n2.dim[i];
    datatype = n2.datatype;
    vox_offset = static_cast<double>(n2.vox_offset);
  }

  if (h.dim[0] < 1 || h.dim[0] > 7)
    fail(path, msg("dim[0] is ", h.dim[0], ", must be 1 to 7 (corrupt header)"));
  for (int i = 1; i <= h.dim[0]; ++i)
    if (h.dim[i] <= 0)
      fail(path, msg("dim[", i, "] is ", h.dim[i], ": every dimension must be positive (corrupt header; fix its dims)"));
  int64_t volumes = 1;
  for (int i = 4; i <= h.dim[0]; ++i) volumes = h.dim[i] > kMaxDataBytes / volumes ? kMaxDataBytes : volumes * h.dim[i];
  if (volumes > 1)
    fail(path, msg(h.dim[0], "-D file with ", volumes, " volumes (dims ", dims_text(h.dim),
                   ") where a 3-D volume is expected (extract one, e.g. nifti_tool -copy_im -prefix out.nii.gz -infiles '",
                   path, "[0]')"));
  if (!dtype_from_code(datatype, &h.dtype))
    fail(path, msg("unsupported datatype ", nifti_datatype_string(datatype), " (code ", datatype,
                   "); supported: uint8, int16, uint16, int32, float32, float64 (convert the file to one of them)"));
  int64_t nvox = 1;
  for (int i = 1; i <= std::min<int64_t>(h.dim[0], 3); ++i) {
    if (h.dim[i] > kMaxDataBytes / nvox) fail(path, msg("dims ", dims_text(h.dim), " are implausibly large (corrupt header)"));
    nvox *= h.dim[i];
  }
  h.data_bytes = nvox * dtype_bytes(h.dtype);
  if (h.data_bytes > kMaxDataBytes)
    fail(path, msg("dims ", dims_text(h.dim), " need ", h.data_bytes, " bytes, more than the ", kMaxDataBytes,
                   "-byte limit (corrupt header?)"));
  if (!std::isfinite(vox_offset) || vox_offset < (h.two_file ? 0.0 : double(hdr_bytes)) || vox_offset > 1e15)
    fail(path, msg("vox_offset ", vox_offset, " is ", h.two_file ? "negative" : "inside the header",
                   " (corrupt header)"));
  h.vox_offset = static_cast<int64_t>(vox_offset);

  std::string data_path = path;
  uint64_t data_file_size = size;
  bool data_gz = gz;
  if (h.two_file) {
    const size_t dot = ends_with(path, ".hdr.gz") ? path.size() - 7 : ends_with(path, ".hdr") ? path.size() - 4 : 0;
    if (!dot) fail(path, "a two-file (\"ni\") header must be named .hdr or .hdr.gz, with its voxels in the .img beside it");
    data_path = path.substr(0, dot) + (ends_with(path, ".gz") ? ".img.gz" : ".img");
    data_file_size = file_size(data_path, "the image file of the .hdr/.img pair");
    data_gz = is_gzip(data_path);
  }
  h.data_path = data_path;
  h.raw = head;
  const uint64_t need = static_cast<uint64_t>(h.vox_offset + h.data_bytes);
  // deflate cannot expand by more than about 1032:1, so a gzip file too small for the dims is caught here,
  // before allocating; the exact size of a gzip file is checked while inflating it
  const uint64_t have = data_gz ? data_file_size * 1032 + (1 << 16) : data_file_size;
  const std::string what = msg("the header (dims ", dims_text(h.dim), ", ", nifti_dtype_name(h.dtype), ", data at byte ",
                               h.vox_offset, ") needs ", need, " bytes but ", h.two_file ? data_path : "the file",
                               data_gz ? msg(" can inflate to at most ", have) : msg(" has ", have));
  if (have < need) fail(path, msg("data is truncated or the dims are wrong: ", what, " (re-copy the file, or fix its dims)"));
  if (have > need && !data_gz)
    fail(path, msg("dims do not match the data size: ", what, " (", have - need, " bytes too many; fix the dims)"));
  return h;
}

// ---- Voxel conversion, shared by reading and by the write verification so both round identically ----

bool scaling_applies(double slope) { return slope != 0.0 && std::isfinite(slope); }

template <class T>
[[gnu::noinline]] void raw_to_float(const T* raw, int64_t n, double slope, double inter, float* out) {
  if (scaling_applies(slope)) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(static_cast<double>(raw[i]) * slope + inter);
  } else {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(raw[i]);
  }
}

void raw_to_float(NiftiDType t, const void* raw, int64_t n, double slope, double inter, float* out) {
  switch (t) {
    case NiftiDType::u8: return raw_to_float(static_cast<const uint8_t*>(raw), n, slope, inter, out);
    case NiftiDType::i16: return raw_to_float(static_cast<const int16_t*>(raw), n, slope, inter, out);
    case NiftiDType::u16: return raw_to_float(static_cast<const uint16_t*>(raw), n, slope, inter, out);
    case NiftiDType::i32: return raw_to_float(static_cast<const int32_t*>(raw), n, slope, inter, out);
    case NiftiDType::f32: return raw_to_float(static_cast<const float*>(raw), n, slope, inter, out);
    case NiftiDType::f64: return raw_to_float(static_cast<const double*>(raw), n, slope, inter, out);
  }
}

std::string voxel_text(const std::array<int64_t, 3>& dims, int64_t i) {
  return msg("(", i % dims[0], ", ", (i / dims[0]) % dims[1], ", ", i / (dims[0] * dims[1]), ")");
}

Affine to_affine(const nifti_dmat44& m) {
  Affine a;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[r][c] = m.m[r][c];
  return a;
}

double column_norm(const Affine& a, int c) {
  return std::sqrt(a[0][c] * a[0][c] + a[1][c] * a[1][c] + a[2][c] * a[2][c]);
}

struct Loaded {
  Volume volume;
  NiftiInfo info;
  Affine qform{};  // as the quaternion fields give it (for the write verification)
};

struct ImageGuard {
  nifti_image* nim;
  ~ImageGuard() { nifti_image_free(nim); }
};

// Inflates (or reads) exactly the voxel bytes, then makes sure the stream ends there and is intact (the
// gzip CRC is only checked at the end).
std::vector<unsigned char> read_voxel_bytes(const std::string& path, const Header& h) {
  gzFile g = gzopen(h.data_path.c_str(), "rb");
  if (!g) throw IOError(msg(h.data_path, ": cannot open (", errno_text(), ")"));
  gzbuffer(g, 1 << 18);
  const auto zfail = [&](const std::string& what) {
    int err = Z_OK;
    const std::string zmsg = zlib_text(g, &err);
    gzclose(g);
    if (err == Z_BUF_ERROR || err == Z_OK)
      fail(path, msg("data is truncated or the dims are wrong: ", what, " (re-copy the file, or fix its dims)"));
    fail(path, msg("corrupt gzip data: ", what, " (zlib: ", zmsg, ") (re-copy or re-export the file)"));
  };
  if (gzseek(g, static_cast<z_off_t>(h.vox_offset), SEEK_SET) != static_cast<z_off_t>(h.vox_offset))
    zfail(msg("the data should start at byte ", h.vox_offset, " but the stream ends before"));
  std::vector<unsigned char> data(static_cast<size_t>(h.data_bytes));
  size_t done = 0;
  while (done < data.size()) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(data.size() - done, size_t(1) << 30));
    const int got = gzread(g, data.data() + done, chunk);
    if (got <= 0) break;
    done += static_cast<size_t>(got);
  }
  if (done < data.size())
    zfail(msg("the header (dims ", dims_text(h.dim), ", ", nifti_dtype_name(h.dtype), ") needs ", data.size(),
              " bytes of voxels but the stream holds only ", done));
  unsigned char extra[64];
  const int more = gzread(g, extra, sizeof extra);
  if (more > 0) {
    gzclose(g);
    fail(path, msg("dims do not match the data size: the header (dims ", dims_text(h.dim), ", ", nifti_dtype_name(h.dtype),
                   ") needs ", data.size(), " bytes of voxels but more data follows (fix the dims)"));
  }
  if (more < 0) zfail("after the voxels");
  int err = Z_OK;
  gzerror(g, &err);
  if (err != Z_OK) zfail("at the end of the stream");
  gzclose(g);
  return data;
}

Loaded load(const std::string& path) {
  init_library();
  const Header h = check_header(path);
  nifti_image* nim = nullptr;
  if (h.version == 1) {
    nifti_1_header raw;
    std::memcpy(&raw, h.raw.data(), sizeof raw);
    nim = nifti_convert_n1hdr2nim(raw, path.c_str());
  } else {
    nifti_2_header raw;
    std::memcpy(&raw, h.raw.data(), sizeof raw);
    nim = nifti_convert_n2hdr2nim(raw, path.c_str());
  }
  if (!nim) fail(path, "the NIfTI library rejected the header (corrupt header)");
  ImageGuard guard{nim};
  if (nim->nx != h.dim[1] || nim->nvox != h.data_bytes / dtype_bytes(h.dtype) || nim->datatype != dtype_code(h.dtype))
    fail(path, "the NIfTI library read different dims or datatype than the header holds (corrupt header)");
  std::vector<unsigned char> data = read_voxel_bytes(path, h);
  if (dtype_bytes(h.dtype) > 1 && nim->byteorder != nifti_short_order())
    nifti_swap_Nbytes(nim->nvox, dtype_bytes(h.dtype), data.data());

  Loaded out;
  Volume& v = out.volume;
  v.dims = {nim->nx, h.dim[0] >= 2 ? nim->ny : 1, h.dim[0] >= 3 ? nim->nz : 1};
  v.voxels.resize(static_cast<size_t>(v.size()));
  raw_to_float(h.dtype, data.data(), v.size(), nim->scl_slope, nim->scl_inter, v.voxels.data());
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < v.size(); ++i)
    if (!std::isfinite(v.voxels[static_cast<size_t>(i)])) {
      if (first < 0) first = i;
      ++bad;
    }
  if (bad) {
    const float x = v.voxels[static_cast<size_t>(first)];
    fail(path, msg(bad, " voxel", bad > 1 ? "s are" : " is", " not finite, the first at ", voxel_text(v.dims, first), " is ",
                   std::isnan(x) ? "NaN" : (x > 0 ? "+Inf" : "-Inf"),
                   scaling_applies(nim->scl_slope) ? " after scl_slope/scl_inter scaling" : "",
                   " (replace them with finite values, e.g. 0, before use)"));
  }

  NiftiInfo& info = out.info;
  info.version = h.version;
  info.dtype = h.dtype;
  info.scl_slope = nim->scl_slope;
  info.scl_inter = nim->scl_inter;
  info.sform_code = nim->sform_code;
  info.qform_code = nim->qform_code;

  out.qform = to_affine(nim->qto_xyz);
  if (nim->sform_code > 0) {
    v.affine = to_affine(nim->sto_xyz);
  } else if (nim->qform_code > 0) {
    v.affine = out.qform;
  } else {
    const double d[3] = {nim->dx, nim->dy, nim->dz};
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 4; ++c)
        v.affine[r][c] = r != c ? 0.0 : r == 3 ? 1.0 : (std::isfinite(d[r]) && d[r] > 0 ? d[r] : 1.0);
  }
  for (const auto& row : v.affine)
    for (double x : row)
      if (!std::isfinite(x))
        fail(path, msg("the ", nim->sform_code > 0 ? "sform" : "qform", " has non-finite entries (corrupt header)"));
  for (int c = 0; c < 3; ++c) {
    v.spacing[c] = column_norm(v.affine, c);
    if (!(v.spacing[c] > 0))
      fail(path, msg("the ", nim->sform_code > 0 ? "sform" : "qform", " is degenerate: axis ", c,
                     " has zero length (corrupt header)"));
  }
  return out;
}

// ---- Writing ----

// Within `rel` of b: axis columns relative to their length, the translation relative to max(1, |entry|).
bool close_to(const Affine& a, const Affine& b, double rel) {
  for (int c = 0; c < 4; ++c) {
    const double norm = c < 3 ? column_norm(b, c) : 0.0;
    for (int r = 0; r < 4; ++r) {
      const double tol = rel * (c < 3 ? norm : std::max(1.0, std::fabs(b[r][c])));
      if (!(std::fabs(a[r][c] - b[r][c]) <= tol)) return false;
    }
  }
  return true;
}

// How closely a qform can reproduce an affine. Readers recompute the quaternion's first component as
// sqrt(1 - b^2 - c^2 - d^2) and nifticlib sets it to 0 when that square is below 1e-7, so rotations within
// about 0.04 degrees of a half turn come back off by up to ~6e-4 (in either version); elsewhere the error is
// float32 rounding (NIfTI-1) or less.
double qform_tolerance(int) { return 1e-3; }

void check_affine(const std::string& path, const Volume& v) {
  const Affine& a = v.affine;
  for (const auto& row : a)
    for (double x : row)
      if (!std::isfinite(x)) throw ValueError(msg(path, ": the volume's affine has non-finite entries"));
  if (a[3][0] != 0 || a[3][1] != 0 || a[3][2] != 0 || a[3][3] != 1)
    throw ValueError(msg(path, ": the affine's last row must be 0 0 0 1"));
  double n[3];
  for (int c = 0; c < 3; ++c) {
    n[c] = column_norm(a, c);
    if (!(n[c] > 0)) throw ValueError(msg(path, ": the affine is degenerate (axis ", c, " has zero length)"));
    if (std::fabs(n[c] - v.spacing[c]) > 1e-4 * n[c])
      throw ValueError(msg(path, ": spacing[", c, "] is ", v.spacing[c], " but the affine's axis ", c, " has length ",
                           n[c], " (keep Volume::spacing and the affine consistent)"));
  }
  for (int c = 0; c < 3; ++c)
    for (int d = c + 1; d < 3; ++d) {
      const double dot = a[0][c] * a[0][d] + a[1][c] * a[1][d] + a[2][c] * a[2][d];
      if (std::fabs(dot) > 1e-5 * n[c] * n[d])
        throw ValueError(msg(path, ": the affine is sheared (axes ", c, " and ", d,
                             " are not orthogonal), which a NIfTI qform cannot represent (write a rotation times scaling)"));
    }
}

// The stored (raw) value of each voxel in the file's type: rounded and range-checked for integers.
template <class T>
std::vector<T> to_raw(const std::string& path, const Volume& v, double slope, double inter, NiftiDType t) {
  std::vector<T> raw(v.voxels.size());
  const bool scale = scaling_applies(slope);
  for (size_t i = 0; i < raw.size(); ++i) {
    const float x = v.voxels[i];
    if (!std::isfinite(x))
      throw ValueError(msg(path, ": voxel ", voxel_text(v.dims, static_cast<int64_t>(i)), " is ", x,
                           "; NIfTI volumes must be finite (replace it before writing)"));
    double s = scale ? (static_cast<double>(x) - inter) / slope : static_cast<double>(x);
    if constexpr (std::is_integral_v<T>) {
      s = std::round(s);  // halves away from zero, as people round
      if (s < double(std::numeric_limits<T>::min()) || s > double(std::numeric_limits<T>::max()))
        throw ValueError(msg(path, ": voxel ", voxel_text(v.dims, static_cast<int64_t>(i)), " value ", x, " is stored as ", s,
                             ", outside the ", nifti_dtype_name(t), " range [", +std::numeric_limits<T>::min(), ", ",
                             +std::numeric_limits<T>::max(), "] (choose a wider dtype or set scl_slope/scl_inter)"));
    } else if (!std::isfinite(static_cast<T>(s))) {
      throw ValueError(msg(path, ": voxel ", voxel_text(v.dims, static_cast<int64_t>(i)), " value ", x, " is stored as ", s,
                           ", which overflows ", nifti_dtype_name(t), " (check scl_slope)"));
    }
    raw[i] = static_cast<T>(s);
  }
  return raw;
}

struct RawData {
  std::vector<unsigned char> bytes;
  std::vector<float> expected;  // what reading the file back must give, bit for bit
};

template <class T>
RawData make_raw(const std::string& path, const Volume& v, double slope, double inter, NiftiDType t) {
  std::vector<T> raw = to_raw<T>(path, v, slope, inter, t);
  RawData out;
  out.expected.resize(raw.size());
  raw_to_float(raw.data(), static_cast<int64_t>(raw.size()), slope, inter, out.expected.data());
  out.bytes.resize(raw.size() * sizeof(T));
  std::memcpy(out.bytes.data(), raw.data(), out.bytes.size());
  return out;
}

RawData make_raw(const std::string& path, const Volume& v, double slope, double inter, NiftiDType t) {
  switch (t) {
    case NiftiDType::u8: return make_raw<uint8_t>(path, v, slope, inter, t);
    case NiftiDType::i16: return make_raw<int16_t>(path, v, slope, inter, t);
    case NiftiDType::u16: return make_raw<uint16_t>(path, v, slope, inter, t);
    case NiftiDType::i32: return make_raw<int32_t>(path, v, slope, inter, t);
    case NiftiDType::f32: return make_raw<float>(path, v, slope, inter, t);
    case NiftiDType::f64: return make_raw<double>(path, v, slope, inter, t);
  }
  return {};
}

// The header as nifticlib builds it from an image description: sform = the affine, the quaternion fields
// from nifti_dmat44_to_quatern so the qform reproduces it, both with code 1 (scanner).
std::vector<unsigned char> build_header(const std::string& path, const Volume& v, const NiftiWriteOptions& opt,
                                        double slope, double inter) {
  int64_t dims[8] = {3, v.dims[0], v.dims[1], v.dims[2], 1, 1, 1, 1};
  nifti_image* nim = nifti_make_new_nim(dims, dtype_code(opt.dtype), 0);
  if (!nim) throw ValueError(msg(path, ": the NIfTI library cannot describe an image of dims ", v.dims[0], "x", v.dims[1], "x", v.dims[2]));
  ImageGuard guard{nim};
  nifti_dmat44 m;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) m.m[r][c] = v.affine[r][c];
  double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
  nifti_dmat44_to_quatern(m, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz, &qfac);
  nim->quatern_b = qb, nim->quatern_c = qc, nim->quatern_d = qd;
  nim->qoffset_x = qx, nim->qoffset_y = qy, nim->qoffset_z = qz;
  nim->qfac = qfac;
  nim->pixdim[0] = qfac;
  nim->dx = nim->pixdim[1] = dx;
  nim->dy = nim->pixdim[2] = dy;
  nim->dz = nim->pixdim[3] = dz;
  nim->qform_code = nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->qto_xyz = nifti_quatern_to_dmat44(qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac);
  nim->sto_xyz = m;
  {  // what a reader will rebuild from the stored fields
    const auto st = [&](double x) { return opt.version == 1 ? double(float(x)) : x; };
    const Affine q = to_affine(nifti_quatern_to_dmat44(st(qb), st(qc), st(qd), st(qx), st(qy), st(qz), st(dx), st(dy),
                                                       st(dz), qfac));
    if (!close_to(q, v.affine, qform_tolerance(opt.version)))
      throw ValueError(msg(path, ": the NIfTI-", opt.version, " qform cannot reproduce the affine to within ",
                           qform_tolerance(opt.version), opt.version == 1 ? " (write NIfTI-2)" : ""));
  }
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->scl_slope = slope;
  nim->scl_inter = inter;
  std::snprintf(nim->descrip, sizeof nim->descrip, "asyndgan");
  std::vector<unsigned char> out;
  if (opt.version == 1) {
    nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
    nim->iname_offset = 352;  // header + the 4-byte extension flag
    nifti_1_header h;
    if (nifti_convert_nim2n1hdr(nim, &h) != 0) throw ValueError(msg(path, ": the NIfTI library cannot build a NIfTI-1 header for this volume"));
    for (int i = 4; i < 8; ++i) h.dim[i] = 1;
    out.resize(sizeof h);
    std::memcpy(out.data(), &h, sizeof h);
  } else {
    nim->nifti_type = NIFTI_FTYPE_NIFTI2_1;
    nim->iname_offset = 544;
    nifti_2_header h;
    if (nifti_convert_nim2n2hdr(nim, &h) != 0) throw ValueError(msg(path, ": the NIfTI library cannot build a NIfTI-2 header for this volume"));
    std::memcpy(h.magic, "n+2\0\r\n\032\n", 8);  // the library leaves out the transfer-check bytes
    for (int i = 4; i < 8; ++i) h.dim[i] = 1;
    out.resize(sizeof h);
    std::memcpy(out.data(), &h, sizeof h);
  }
  out.resize(out.size() + 4, 0);  // no extensions
  return out;
}

// Header and voxels into `tmp`, gzip-compressed when `gz`; any short write is an IOError right away.
void write_file(const std::string& path, const std::string& tmp, bool gz, const std::vector<unsigned char>& header,
                const std::vector<unsigned char>& data) {
  gzFile g = gzopen(tmp.c_str(), gz ? "wb6" : "wbT");  // T: plain, through the same checked calls
  if (!g) throw IOError(msg(path, ": cannot open the temporary file '", tmp, "' (", errno_text(), ")"));
  gzbuffer(g, 1 << 18);
  const auto put = [&](const unsigned char* p, size_t n) {
    while (n > 0) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, size_t(1) << 30));
      const int wrote = gzwrite(g, p, chunk);
      if (wrote <= 0) {
        const std::string why = zlib_text(g);
        gzclose(g);
        throw IOError(msg(path, ": writing the temporary file '", tmp, "' failed (", why,
                          "; disk full?); the previous file, if any, is unchanged"));
      }
      p += wrote;
      n -= static_cast<size_t>(wrote);
    }
  };
  put(header.data(), header.size());
  put(data.data(), data.size());
  if (gzclose(g) != Z_OK)
    throw IOError(msg(path, ": closing the temporary file '", tmp, "' failed (", errno_text(),
                      "; disk full?); the previous file, if any, is unchanged"));
}

}  // namespace

Volume read_nifti(const std::string& path, NiftiInfo* info) {
  Loaded l = load(path);
  if (info) *info = l.info;
  return std::move(l.volume);
}

void write_nifti(const std::string& path, const Volume& v, const NiftiWriteOptions& opt) {
  init_library();
  const char* ext = ends_with(path, ".nii.gz") ? ".nii.gz" : ends_with(path, ".nii") ? ".nii" : nullptr;
  if (!ext) throw ValueError(msg(path, ": a NIfTI file name must end in .nii or .nii.gz"));
  ext = path.c_str() + path.size() - std::strlen(ext);  // keeps the caller's letter case
  if (opt.version != 1 && opt.version != 2)
    throw ValueError(msg(path, ": NIfTI version must be 1 or 2, got ", opt.version));
  for (int64_t d : v.dims)
    if (d <= 0) throw ValueError(msg(path, ": dims must be positive, got ", v.dims[0], "x", v.dims[1], "x", v.dims[2]));
  if (v.voxels.size() != static_cast<size_t>(v.size()))
    throw ValueError(msg(path, ": the volume holds ", v.voxels.size(), " voxels but its dims ", v.dims[0], "x", v.dims[1], "x",
                         v.dims[2], " need ", v.size()));
  if (opt.version == 1)
    for (int64_t d : v.dims)
      if (d > 32767) throw ValueError(msg(path, ": a dim of ", d, " does not fit NIfTI-1 (at most 32767; write version 2)"));
  if (!std::isfinite(opt.scl_slope) || !std::isfinite(opt.scl_inter))
    throw ValueError(msg(path, ": scl_slope and scl_inter must be finite"));
  check_affine(path, v);

  // NIfTI-1 stores the scaling as float32: convert with the values the file will hold.
  const double slope = opt.version == 1 ? double(float(opt.scl_slope)) : opt.scl_slope;
  const double inter = opt.version == 1 ? double(float(opt.scl_inter)) : opt.scl_inter;
  RawData raw = make_raw(path, v, slope, inter, opt.dtype);

  // zlib writes by name, so the temporary is the atomic writer's named one, hidden beside `path` with its suffix.
  AtomicFileWriter out(path, AtomicFileWriter::ByName{ext});
  write_file(path, out.temp_path(), ends_with(path, ".gz"), build_header(path, v, opt, slope, inter), raw.bytes);
  if (nifti_testing::after_temp_written) nifti_testing::after_temp_written(out.temp_path());

  const auto failed = [&](const std::string& why) {
    throw IOError(msg(path, ": verification after writing failed: ", why,
                      " (disk full or failing? the previous file, if any, is unchanged)"));
  };
  Loaded back;
  try {
    back = load(out.temp_path());
  } catch (const Error& e) {
    failed(e.what());
  }
  if (back.volume.dims != v.dims) failed("dims differ");
  if (std::memcmp(back.volume.voxels.data(), raw.expected.data(), raw.expected.size() * sizeof(float)) != 0)
    failed("voxels differ");
  if (back.info.dtype != opt.dtype || back.info.version != opt.version) failed("dtype or version differs");
  const double tol = opt.version == 1 ? 1e-6 : 1e-12;
  if (!close_to(back.volume.affine, v.affine, tol)) failed("the sform differs from the affine");
  if (!close_to(back.qform, v.affine, qform_tolerance(opt.version))) failed("the qform differs from the affine");

  out.commit();
}

}  // namespace asyndgan::data
