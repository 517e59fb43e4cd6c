// NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz) through the NIfTI C library, with clear errors for bad files.
#pragma once
#include <string>
#include "data/volume.h"

namespace asyndgan::data {

enum class NiftiDType { u8, i16, u16, i32, f32, f64 };
const char* nifti_dtype_name(NiftiDType t);

// What the file said besides the voxels.
struct NiftiInfo {
  int version = 1;                // 1 or 2
  NiftiDType dtype = NiftiDType::f32;
  double scl_slope = 0, scl_inter = 0;  // as stored (slope 0 means no scaling)
  int sform_code = 0, qform_code = 0;
};

// Reads a 3-D volume (a 4-D file with one time point is accepted). Scaling (scl_slope/scl_inter) is applied
// when set; the affine is the sform when its code is set, else the qform, else the spacing. A missing file,
// truncated file, wrong magic, dims that do not match the data size, NaN/Inf voxels, an unsupported
// datatype or a real 4-D file: a FormatError (IOError when unreadable) naming the file and the fix.
Volume read_nifti(const std::string& path, NiftiInfo* info = nullptr);

struct NiftiWriteOptions {
  NiftiDType dtype = NiftiDType::f32;  // voxels are rounded (and range-checked) for integer types
  int version = 1;                     // 1 or 2
  double scl_slope = 0, scl_inter = 0;  // stored as given; voxels are written as (value - inter) / slope
};

// Writes `v` with its affine as both sform and qform (code 1, scanner; the quaternion fields filled so the
// qform matches), gzip when the name ends in .gz. Written to a temporary file, re-read and compared,
// then renamed over `path`.
void write_nifti(const std::string& path, const Volume& v, const NiftiWriteOptions& opt = {});

}  // namespace asyndgan::data
