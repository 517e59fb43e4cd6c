// Names that become file names (subject ids, site names): checked to be plain names, never paths, and the
// paths built from them checked to stay inside the folder they are written to.
#pragma once
#include <string>

namespace asyndgan {

// Why `name` cannot be used as one file name ("" when it can): empty, holding a '/' or '\' (a path, an
// absolute one included), "..", or a control character.
std::string name_problem(const std::string& name);

// `name` with control characters and bytes past ASCII shown as \xNN, for messages.
std::string printable(const std::string& name);

// `dir`/`relative`, refused (ValueError naming the path and the folder) unless it stays inside `dir`:
// `relative` must not be absolute, and no ".." in it may climb out. The check is lexical: a symbolic link
// the user placed inside `dir` is followed as they meant it to be.
std::string path_inside(const std::string& dir, const std::string& relative);

}  // namespace asyndgan
