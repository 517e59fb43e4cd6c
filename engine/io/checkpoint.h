// The asyndgan checkpoint file: named tensors of any dtype plus string metadata, versioned and checksummed.
//
// Layout (little-endian): "ASYNDGAN" | u32 version (1) | u32 flags (0) | u64 tensor count | u64 meta count |
// per tensor: u32 name length, name, u8 dtype code (DType's value), u32 ndim, i64 shape[ndim], u64 byte
// length, data (contiguous) | per meta entry: u32 key length, key, u64 value length, value |
// u32 CRC-32 of every byte before it.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include "engine/tensor.h"

namespace asyndgan {

inline constexpr uint32_t kCheckpointVersion = 1;

struct Checkpoint {
  std::map<std::string, Tensor> tensors;
  std::map<std::string, std::string> meta;
};

// Writes atomically (temporary file, fsync, rename): `path` keeps its old contents if anything fails.
// Tensors on a device are copied to the host. IOError when the system refuses the write.
void save_checkpoint(const std::string& path, const Checkpoint& ckpt);
// Verifies the magic, the version, every length against the bytes that remain (before allocating), the
// dtype codes and the checksum; any problem is a FormatError naming the file and what is wrong.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace asyndgan
