// safetensors files (https://github.com/huggingface/safetensors): u64 LE header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}} padded with spaces to 8 bytes, then the
// raw little-endian data. Lets PyTorch users read our weights with safetensors.torch.load_file.
#pragma once
#include <map>
#include <string>
#include "engine/nn/module.h"
#include "engine/tensor.h"

namespace asyndgan {

// Dtypes "F32", "F64", "BF16", "F16", "U8", "I32", "I64". Written atomically (temporary file, fsync, rename);
// tensors are laid out in name order, back to back.
void save_safetensors(const std::string& path, const std::map<std::string, Tensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Validates the header (strict JSON, known dtypes, shapes) and the offsets (in range, no overlap or gap,
// sizes matching dtype x shape) before allocating; any problem is a FormatError naming the file and tensor.
std::map<std::string, Tensor> load_safetensors(const std::string& path,
                                               std::map<std::string, std::string>* metadata = nullptr);

// A module's state_dict under its PyTorch names, e.g. "model.1.weight". A PyTorch BatchNorm2d also loads it
// strictly: PyTorch fills in the num_batches_tracked we do not store.
void save_module_safetensors(const std::string& path, const nn::Module& m);
void load_module_safetensors(const std::string& path, nn::Module& m, bool strict = true);

}  // namespace asyndgan
