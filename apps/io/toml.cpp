// TOML configs over toml++: toml::parse reads the text; this file flattens its tables into TomlConfig's
// ordered dotted keys, refuses what configs do not take (dates, inf/nan, '.' inside a key part), and
// writes entries back as TOML lines.
#include "apps/io/toml.h"
#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include "base/error.h"

namespace asyndgan {
namespace {

[[noreturn]] void fail_at(const std::string& source, const toml::source_position& at, const std::string& what) {
  throw FormatError(msg(source, ":", at.line, ": ", what));
}

std::string trimmed(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

// A TOML basic string: JSON's escapes are TOML's, except that TOML wants DEL escaped too.
std::string quoted(const std::string& s) {
  std::string out = dump_json(Json(s));
  for (size_t at = out.find('\x7f'); at != std::string::npos; at = out.find('\x7f', at)) out.replace(at, 1, "\\u007F");
  return out;
}

bool bare_key(const std::string& k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

// toml++ reads `norm = instance` as a malformed number ("expected 'inf'"); the likely intent is a string.
std::string bare_word_hint(std::string_view text, size_t line) {
  for (size_t i = 1; i < line && !text.empty(); ++i) {
    const size_t nl = text.find('\n');
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  }
  text = text.substr(0, text.find('\n'));
  const size_t eq = text.find('=');
  if (eq == std::string_view::npos) return "";
  std::string_view rest = text.substr(eq + 1);
  const std::string word = trimmed(rest.substr(0, rest.find('#')));
  if (word.empty() || !std::isalpha(static_cast<unsigned char>(word[0])) || word == "true" || word == "false" ||
      word == "inf" || word == "nan")
    return "";
  for (char c : word)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("_-./", c)) return "";
  return msg("; '", word, "' is not a value: strings need quotes: ", quoted(word));
}

// The members of a table in the order they were written (toml++ keeps them sorted by key).
std::vector<std::pair<const toml::key*, const toml::node*>> in_file_order(const toml::table& table) {
  std::vector<std::pair<const toml::key*, const toml::node*>> out;
  for (auto&& [key, node] : table) out.emplace_back(&key, &node);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const toml::source_position &x = a.second->source().begin, &y = b.second->source().begin;
    return x.line != y.line ? x.line < y.line : x.column < y.column;
  });
  return out;
}

// Configs nest on '.', so a quoted key part may not hold one (nor be empty).
void check_key_part(const toml::key& key, const std::string& source) {
  if (key.str().empty()) fail_at(source, key.source().begin, "empty quoted key");
  if (key.str().find('.') != std::string::npos)
    fail_at(source, key.source().begin, msg("key part ", quoted(std::string(key.str())), " contains '.', which configs use to nest keys"));
}

Json value_json(const toml::node& node, const std::string& source) {
  switch (node.type()) {
    case toml::node_type::string: return node.as_string()->get();
    case toml::node_type::integer: return node.as_integer()->get();
    case toml::node_type::boolean: return node.as_boolean()->get();
    case toml::node_type::floating_point: {
      const double v = node.as_floating_point()->get();
      if (!std::isfinite(v)) fail_at(source, node.source().begin, "inf and nan are not allowed in a config");
      return v;
    }
    case toml::node_type::array: {
      Json out = Json::array();
      for (const toml::node& item : *node.as_array()) out.push_back(value_json(item, source));
      return out;
    }
    case toml::node_type::table: {  // an inline table inside an array
      Json out = Json::object();
      for (const auto& [key, item] : in_file_order(*node.as_table())) {
        check_key_part(*key, source);
        out[std::string(key->str())] = value_json(*item, source);
      }
      return out;
    }
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time: {
      std::ostringstream text;
      node.visit([&](const auto& when) { text << when; });
      fail_at(source, node.source().begin, msg("'", text.str(), "': dates and times are not supported in configs; quote it for a string"));
    }
    case toml::node_type::none: break;
  }
  fail_at(source, node.source().begin, "a value of no known type");
}

// [[name]] blocks, as opposed to an array value that happens to hold inline tables.
bool is_table_array(const toml::node& node) {
  const toml::array* array = node.as_array();
  return array && array->is_array_of_tables() && !array->front().as_table()->is_inline();
}

void flatten(const toml::table& table, const std::string& prefix, const std::string& source,
             std::vector<std::pair<TomlEntry, toml::source_position>>& out) {
  for (auto&& [key, node] : table) {
    check_key_part(key, source);
    const std::string name = prefix.empty() ? std::string(key.str()) : prefix + "." + std::string(key.str());
    if (const toml::table* sub = node.as_table()) {
      flatten(*sub, name, source, out);
    } else if (is_table_array(node)) {
      const toml::array& blocks = *node.as_array();
      for (size_t i = 0; i < blocks.size(); ++i) flatten(*blocks[i].as_table(), msg(name, ".", i), source, out);
    } else {
      const toml::source_position at = node.source().begin;
      out.push_back({TomlEntry{name, value_json(node, source), msg(source, ":", at.line)}, at});
    }
  }
}

// The leaves of a parsed document, in the order they were written.
std::vector<TomlEntry> leaves(const toml::table& root, const std::string& source) {
  std::vector<std::pair<TomlEntry, toml::source_position>> found;
  flatten(root, "", source, found);
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
    return a.second.line != b.second.line ? a.second.line < b.second.line : a.second.column < b.second.column;
  });
  std::vector<TomlEntry> out;
  for (auto& f : found) out.push_back(std::move(f.first));
  return out;
}

toml::table parse_document(std::string_view text, const std::string& source) {
  try {
    return toml::parse(text, std::string_view(source));
  } catch (const toml::parse_error& e) {
    const toml::source_position at = e.source().begin;
    throw FormatError(msg(source, ":", at.line, ":", at.column, ": ", e.description(), bare_word_hint(text, at.line)));
  }
}

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    const size_t dot = key.find('.', start);
    out.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

std::string key_text(const std::string& key) {
  std::string out;
  for (const auto& part : split_dots(key)) out += (out.empty() ? "" : ".") + (bare_key(part) ? part : quoted(part));
  return out;
}

}  // namespace

const TomlEntry* TomlConfig::find(const std::string& key) const {
  for (const auto& e : entries_)
    if (e.key == key) return &e;
  return nullptr;
}

void TomlConfig::set(const std::string& key, Json value, std::string origin) {
  for (auto& e : entries_) {
    if (e.key == key) {
      e.value = std::move(value);
      e.origin = std::move(origin);
      return;
    }
    if (e.key.size() > key.size() && e.key.compare(0, key.size(), key) == 0 && e.key[key.size()] == '.')
      throw ValueError("'" + key + "' is a table (it holds '" + e.key + "', " + e.origin + "), not a value");
    if (key.size() > e.key.size() && key.compare(0, e.key.size(), e.key) == 0 && key[e.key.size()] == '.')
      throw ValueError("'" + e.key + "' is a value (" + e.origin + "), so '" + key + "' cannot be set under it");
  }
  entries_.push_back({key, std::move(value), std::move(origin)});
}

Json TomlConfig::to_json() const {
  Json root = Json::object();
  for (const auto& e : entries_) {
    Json* at = &root;
    for (const auto& part : split_dots(e.key)) at = &(*at)[part];
    *at = e.value;
  }
  return root;
}

std::string TomlConfig::to_toml() const {
  std::string out;
  for (const auto& e : entries_) out += key_text(e.key) + " = " + toml_value_text(e.value) + "\n";
  return out;
}

std::string toml_value_text(const Json& v) {
  if (v.is_null()) throw ValueError("toml_value_text: TOML has no null");
  if (v.is_string()) return quoted(v.get<std::string>());
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) out += (out.empty() ? "" : ", ") + toml_value_text(item);
    return "[" + out + "]";
  }
  if (v.is_object()) {
    std::string out;
    for (const auto& item : v.items())
      out += (out.empty() ? "" : ", ") + (bare_key(item.key()) ? item.key() : quoted(item.key())) + " = " + toml_value_text(item.value());
    return "{" + out + "}";
  }
  return dump_json(v);  // booleans, integers, and floats as "1.0", "0.0002", "1e+300": TOML reads them all
}

TomlConfig parse_toml(std::string_view text, const std::string& source) {
  TomlConfig config;
  for (TomlEntry& e : leaves(parse_document(text, source), source)) config.set(e.key, std::move(e.value), std::move(e.origin));
  return config;
}

TomlConfig read_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IOError("cannot read the config " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_toml(ss.str(), path);
}

void apply_override(TomlConfig& config, const std::string& assignment) {
  const std::string where = "--set " + assignment;
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos) throw ValueError(where + ": expected key=value, e.g. --set train.lr=1e-4");
  const std::string key_src = trimmed(assignment.substr(0, eq)), value_src = trimmed(assignment.substr(eq + 1));
  // toml++ reads the key as the key of a one-line document; its one leaf names it.
  std::string key;
  try {
    const std::vector<TomlEntry> probe = leaves(parse_document(key_src + " = true", "key"), "key");
    if (probe.size() != 1 || key_src.find_first_of("\n[") != std::string::npos) throw FormatError("not one dotted key");
    key = probe[0].key;
  } catch (const FormatError& e) {
    throw ValueError(where + ": malformed key '" + key_src + "' (" + e.what() + ")");
  }
  if (value_src.empty()) throw ValueError(where + ": empty value; write " + key_src + "=\"\" for an empty string");
  // The value likewise, as `value = <text>`; an inline table gives several leaves under "value".
  std::vector<TomlEntry> values;
  try {
    const toml::table doc = parse_document("value = " + value_src, "value");
    if (doc.size() != 1) throw FormatError("unexpected text after the value");
    values = leaves(doc, "value");
  } catch (const FormatError& e) {
    if (std::strchr("\"'[{", value_src[0])) throw ValueError(where + ": malformed value (" + e.what() + ")");
    values = {TomlEntry{"value", Json(value_src), ""}};  // a bare word: a string
  }
  try {
    for (TomlEntry& v : values) config.set(key + v.key.substr(5), std::move(v.value), where);  // "value.x" -> key + ".x"
  } catch (const ValueError& e) {
    throw ValueError(where + ": " + e.what());
  }
}

}  // namespace asyndgan
