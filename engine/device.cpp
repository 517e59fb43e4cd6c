// Device parsing and printing; the CUDA device count comes from the CUDA runtime when it is compiled in.
#include "engine/device.h"
#include "engine/error.h"

namespace asyndgan {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    try {
      size_t used = 0;
      int idx = std::stoi(text.substr(5), &used);
      if (used == text.size() - 5 && idx >= 0) return cuda(idx);
    } catch (const std::exception&) {
    }
  }
  throw DeviceError(msg("bad device '", text, "': expected 'cpu', 'cuda' or 'cuda:N'"));
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

}  // namespace asyndgan
