// Run configurations in TOML (read by toml++), flattened to an ordered map of dotted keys ("train.lr") so a
// schema can name every unknown key and bad value with the file and line it came from.
#pragma once
#include <string>
#include <string_view>
#include <vector>
#include "engine/io/json.h"

namespace asyndgan {

// One leaf value. Tables (headers, dotted keys, inline tables) flatten into the key; [[name]] array
// tables number their elements: the second [[sites]] block's `shard` is "sites.1.shard". Arrays stay
// JSON arrays (an inline table inside an array becomes a JSON object).
struct TomlEntry {
  std::string key;
  Json value;          // integer, float (finite), string, boolean or array
  std::string origin;  // "run.toml:12" or "--set train.lr=1e-4", for error messages
};

class TomlConfig {
 public:
  const std::vector<TomlEntry>& entries() const { return entries_; }  // in file order
  const TomlEntry* find(const std::string& key) const;                // nullptr when absent
  // Replaces the value of an existing key (keeping its place) or appends a new one. ValueError when the
  // key would turn a value into a table or a table into a value ("a.b" set while "a.b.c" exists).
  void set(const std::string& key, Json value, std::string origin);

  // Nested JSON objects (the "resolved config" to record next to a run); array-table indices become
  // objects keyed "0", "1", ...
  Json to_json() const;
  // TOML text of one `dotted.key = value` line per entry, which parse_toml reads back to equal entries.
  std::string to_toml() const;

 private:
  std::vector<TomlEntry> entries_;
};

// TOML 1.0 minus dates and times. `source` names the text in errors ("run.toml"); every problem is a
// FormatError "<source>:<line>[:<column>]: <what>" (toml++'s parse errors, dates, inf/nan, a '.' inside a
// quoted key part).
TomlConfig parse_toml(std::string_view text, const std::string& source = "<toml>");
TomlConfig read_toml_file(const std::string& path);  // IOError when unreadable, else as parse_toml

// One `--set key=value` override: the key is a dotted TOML key, the value a TOML value, or else a bare
// word taken as a string (model.norm=instance, out=runs/a). ValueError naming the override when it has
// no '=', a malformed key, an empty value, or a malformed string, array or inline table. Whether the key
// belongs to the schema is for the caller to check.
void apply_override(TomlConfig& config, const std::string& assignment);

// A value as TOML text ("text" with escapes, 2e-4, 1.0, [1, 2]); used by to_toml and in messages.
std::string toml_value_text(const Json& value);

}  // namespace asyndgan
