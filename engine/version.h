// The engine's version, for logs, checkpoints and `asyndgan info`.
#pragma once

namespace asyndgan {
inline const char* version_string() { return "0.1.0"; }
}  // namespace asyndgan
