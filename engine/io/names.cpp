// Plain-name and inside-the-folder checks for the files named after subjects and sites.
#include "engine/io/names.h"
#include <cstdio>
#include <filesystem>
#include "base/error.h"

namespace asyndgan {

namespace fs = std::filesystem;

std::string name_problem(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.find('/') != std::string::npos) return name[0] == '/' ? "is an absolute path" : "contains '/'";
  if (name.find('\\') != std::string::npos) return "contains '\\'";
  if (name.find("..") != std::string::npos) return "contains '..'";
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "contains a control character";
  return "";
}

std::string printable(const std::string& name) {
  std::string out;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", u);
      out += b;
    }
  }
  return out;
}

std::string path_inside(const std::string& dir, const std::string& relative) {
  const fs::path rel(relative);
  const fs::path full = fs::path(dir) / rel;
  const fs::path norm = rel.lexically_normal();
  const bool escapes = rel.is_absolute() || rel.has_root_path() || relative.empty() || norm == "." ||
                       (!norm.empty() && *norm.begin() == "..");
  if (escapes)
    throw ValueError(msg("refusing to write '", printable(full.string()), "': it is not inside the output folder '",
                         printable(dir), "' (a subject id or site name that is a path?); rename the subject or site"));
  return full.string();
}

}  // namespace asyndgan
