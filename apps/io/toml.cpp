// TOML reader: a recursive-descent parser over the text that tracks the line for errors and flattens
// tables into dotted keys as it goes.
#include "apps/io/toml.h"
#include "engine/io/text.h"
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include "base/error.h"

namespace asyndgan {
namespace {

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}
bool is_digit(char c, int base) {
  if (base == 16) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  return c >= '0' && c < '0' + base;
}

// Digits with single underscores between them ("1_000"), as TOML requires; returns them without '_'.
bool clean_digits(std::string_view d, int base, std::string& out) {
  if (d.empty() || !is_digit(d.front(), base) || !is_digit(d.back(), base)) return false;
  for (size_t i = 0; i < d.size(); ++i) {
    if (d[i] == '_') {
      if (!is_digit(d[i + 1], base)) return false;  // "__"; the last char is a digit, so i+1 exists
    } else if (!is_digit(d[i], base)) {
      return false;
    } else {
      out += d[i];
    }
  }
  return true;
}

// A TOML integer or float token; `why` says what is wrong when it returns false.
bool number_from_token(std::string_view tok, Json& out, std::string& why) {
  std::string_view rest = tok;
  char sign = 0;
  if (!rest.empty() && (rest[0] == '+' || rest[0] == '-')) sign = rest[0], rest.remove_prefix(1);
  if (rest == "inf" || rest == "nan") {
    why = "inf and nan are not allowed in a config";
    return false;
  }
  if (rest.size() > 2 && rest[0] == '0' && (rest[1] == 'x' || rest[1] == 'o' || rest[1] == 'b')) {
    const int base = rest[1] == 'x' ? 16 : rest[1] == 'o' ? 8 : 2;
    std::string digits;
    if (sign || !clean_digits(rest.substr(2), base, digits)) {
      why = "malformed integer '" + std::string(tok) + "'";
      return false;
    }
    int64_t v = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
      why = "integer '" + std::string(tok) + "' does not fit in 64 bits";
      return false;
    }
    out = Json(v);
    return true;
  }
  const size_t dot = rest.find('.'), e = rest.find_first_of("eE");
  const size_t int_end = std::min(dot, e);
  std::string clean;
  if (sign == '-') clean += '-';
  std::string_view int_part = rest.substr(0, int_end);
  if (!clean_digits(int_part, 10, clean)) {
    why = "malformed number '" + std::string(tok) + "'";
    return false;
  }
  if (int_part.size() > 1 && int_part[0] == '0') {
    why = "number '" + std::string(tok) + "' has a leading zero";
    return false;
  }
  if (int_end == std::string_view::npos) {
    int64_t v = 0;
    auto r = std::from_chars(clean.data(), clean.data() + clean.size(), v);
    if (r.ec != std::errc()) {
      why = "integer '" + std::string(tok) + "' does not fit in 64 bits";
      return false;
    }
    out = Json(v);
    return true;
  }
  bool ok = true;
  if (dot != std::string_view::npos && dot < e) {
    clean += '.';
    ok = clean_digits(rest.substr(dot + 1, e == std::string_view::npos ? std::string_view::npos : e - dot - 1), 10, clean);
  }
  if (ok && e != std::string_view::npos) {
    std::string_view ex = rest.substr(e + 1);
    clean += 'e';
    if (!ex.empty() && (ex[0] == '+' || ex[0] == '-')) clean += ex[0], ex.remove_prefix(1);
    ok = clean_digits(ex, 10, clean);
  }
  if (!ok) {
    why = "malformed number '" + std::string(tok) + "'";
    return false;
  }
  double v = 0;
  auto r = std::from_chars(clean.data(), clean.data() + clean.size(), v);
  if (r.ec != std::errc() || r.ptr != clean.data() + clean.size() || !std::isfinite(v)) {
    why = "number '" + std::string(tok) + "' is out of range";
    return false;
  }
  out = Json(v);
  return true;
}

std::string join(const std::vector<std::string>& parts, size_t from = 0) {
  std::string out;
  for (size_t i = from; i < parts.size(); ++i) out += (out.empty() ? "" : ".") + parts[i];
  return out;
}

std::vector<std::string> split_dots(const std::string& key) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    out.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return out;
    start = dot + 1;
  }
}

// Sets obj[segs[i]][segs[i+1]]... = value, creating objects; false on a duplicate or a value in the way.
bool insert_nested(Json& obj, const std::vector<std::string>& segs, size_t i, Json value) {
  const Json* existing = obj.find(segs[i]);
  if (i + 1 == segs.size()) {
    if (existing) return false;
    obj.set(segs[i], std::move(value));
    return true;
  }
  Json child = existing ? *existing : Json::object();
  if (!child.is_object() || !insert_nested(child, segs, i + 1, std::move(value))) return false;
  obj.set(segs[i], std::move(child));
  return true;
}

// Leaves of an inline table (a Json object) as (dotted suffix, value) pairs.
void flatten(const std::string& prefix, const Json& v, std::vector<std::pair<std::string, Json>>& out) {
  if (!v.is_object()) {
    out.emplace_back(prefix, v);
    return;
  }
  for (const auto& [k, child] : v.as_object()) flatten(prefix + "." + k, child, out);
}

class Parser {
 public:
  Parser(std::string_view text, std::string source) : s_(text), source_(std::move(source)) {}

  TomlConfig document() {
    TomlConfig cfg;
    std::string table;  // the current [table] prefix, "" at the top
    std::set<std::string> headers;
    std::map<std::string, int64_t> array_tables;  // [[name]] -> elements so far
    std::map<std::string, int> key_lines;
    while (true) {
      skip_blank_lines();
      if (eof()) break;
      if (peek() == '[') {
        const bool array = peek(1) == '[';
        p_ += array ? 2 : 1;
        skip_ws();
        std::vector<std::string> segs = key();
        skip_ws();
        if (!consume(array ? "]]" : "]")) fail(array ? "expected ']]' to close the array-table header" : "expected ']' to close the table header");
        // A header inside an array table refers to its latest element: [sites.x] after [[sites]].
        std::string resolved;
        for (size_t i = 0; i < segs.size(); ++i) {
          resolved += (resolved.empty() ? "" : ".") + segs[i];
          auto it = array_tables.find(resolved);
          if (it != array_tables.end() && !(array && i + 1 == segs.size())) resolved += "." + std::to_string(it->second - 1);
        }
        if (array) {
          if (cfg.find(resolved)) fail("'" + resolved + "' is a value, not an array of tables");
          table = resolved + "." + std::to_string(array_tables[resolved]++);
        } else {
          if (array_tables.count(resolved)) fail("table [" + resolved + "] is already an array of tables");
          if (!headers.insert(resolved).second) fail("table [" + resolved + "] is defined twice");
          table = resolved;
        }
        end_of_line();
        continue;
      }
      const int line = line_;
      std::vector<std::string> segs = key();
      skip_ws();
      if (!consume("=")) fail("expected '=' after the key '" + join(segs) + "'");
      skip_ws();
      const std::string full = (table.empty() ? "" : table + ".") + join(segs);
      Json v = value();
      std::vector<std::pair<std::string, Json>> leaves;
      flatten(full, v, leaves);
      for (auto& [k, leaf] : leaves) {
        if (auto it = key_lines.find(k); it != key_lines.end())
          fail_at(line, "key '" + k + "' is defined twice (first at line " + std::to_string(it->second) + ")");
        try {
          cfg.set(k, std::move(leaf), source_ + ":" + std::to_string(line));
        } catch (const ValueError& e) {
          fail_at(line, e.what());
        }
        key_lines[k] = line;
      }
      end_of_line();
    }
    return cfg;
  }

  // A dotted key: bare or quoted parts separated by '.' (spaces allowed around the dots).
  std::vector<std::string> key() {
    std::vector<std::string> segs;
    while (true) {
      std::string seg;
      if (peek() == '"' || peek() == '\'') {
        const char q = s_[p_++];
        seg = q == '"' ? basic_string() : literal_string();
        if (seg.empty()) fail("empty quoted key");
        if (seg.find('.') != std::string::npos) fail("key part \"" + seg + "\" contains '.', which configs use to nest keys");
      } else {
        while (!eof() && is_bare_key_char(peek())) seg += s_[p_++];
        if (seg.empty()) fail(eof() ? "expected a key, found the end of the text" : "expected a key, found '" + std::string(1, peek()) + "'");
      }
      segs.push_back(std::move(seg));
      skip_ws();
      if (peek() != '.') return segs;
      ++p_;
      skip_ws();
    }
  }

  Json value() {
    const char c = peek();
    if (eof() || c == '\n' || c == '\r' || c == '#') fail("expected a value");
    if (c == '"') {
      if (consume("\"\"\"")) return multiline_string('"');
      ++p_;
      return basic_string();
    }
    if (c == '\'') {
      if (consume("'''")) return multiline_string('\'');
      ++p_;
      return literal_string();
    }
    if (c == '[') return array();
    if (c == '{') return inline_table();
    std::string tok;
    while (!eof() && (is_bare_key_char(peek()) || peek() == '+' || peek() == '.' || peek() == ':')) tok += s_[p_++];
    if (tok.empty()) fail("expected a value, found '" + std::string(1, c) + "'");
    if (tok == "true") return Json(true);
    if (tok == "false") return Json(false);
    if (tok.find(':') != std::string::npos || (tok.size() >= 5 && tok[4] == '-' && is_digit(tok[0], 10)))
      fail("'" + tok + "': dates and times are not supported in configs");
    Json v;
    std::string why;
    if (!number_from_token(tok, v, why)) {
      if (std::isalpha(static_cast<unsigned char>(tok[0])) && tok != "inf" && tok != "nan")
        fail("'" + tok + "' is not a value; strings need quotes: \"" + tok + "\"");
      fail(why);
    }
    return v;
  }

  void skip_ws() {
    while (!eof() && (peek() == ' ' || peek() == '\t')) ++p_;
  }
  bool eof() const { return p_ >= s_.size(); }
  [[noreturn]] void fail(const std::string& what) const { fail_at(line_, what); }

 private:
  char peek(size_t k = 0) const { return p_ + k < s_.size() ? s_[p_ + k] : '\0'; }
  bool consume(std::string_view t) {
    if (s_.substr(p_, t.size()) != t) return false;
    p_ += t.size();
    return true;
  }
  [[noreturn]] void fail_at(int line, const std::string& what) const {
    throw FormatError(source_ + ":" + std::to_string(line) + ": " + what);
  }
  bool at_newline() const { return peek() == '\n' || (peek() == '\r' && peek(1) == '\n'); }
  void newline() {
    p_ += peek() == '\r' ? 2 : 1;
    ++line_;
  }
  void comment() {
    if (peek() != '#') return;
    while (!eof() && !at_newline()) {
      const unsigned char c = static_cast<unsigned char>(s_[p_]);
      if ((c < 0x20 && c != '\t') || c == 0x7F) fail("control character in a comment");
      ++p_;
    }
  }
  void skip_blank_lines() {
    while (true) {
      skip_ws();
      comment();
      if (!at_newline()) return;
      newline();
    }
  }
  void end_of_line() {
    skip_ws();
    comment();
    if (eof()) return;
    if (!at_newline()) fail("expected the end of the line, found '" + std::string(1, peek()) + "'");
    newline();
  }

  void escape(std::string& out) {
    const char c = peek();
    ++p_;
    switch (c) {
      case 'b': out += '\b'; return;
      case 't': out += '\t'; return;
      case 'n': out += '\n'; return;
      case 'f': out += '\f'; return;
      case 'r': out += '\r'; return;
      case '"': out += '"'; return;
      case '\\': out += '\\'; return;
      case 'u':
      case 'U': {
        const size_t n = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t i = 0; i < n; ++i) {
          if (!is_digit(peek(), 16)) fail(std::string("\\") + c + " needs " + std::to_string(n) + " hex digits");
          const char h = s_[p_++];
          cp = cp * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("\\" + std::string(1, c) + " escape is not a Unicode scalar value");
        append_utf8(out, cp);
        return;
      }
      default:
        fail(eof() ? "unterminated string" : "unknown escape '\\" + std::string(1, c) + "'");
    }
  }
  void check_char(char ch) const {
    const unsigned char c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) fail("control character in a string; use an escape such as \\n or \\t");
  }
  // After the opening quote.
  std::string basic_string() {
    std::string out;
    while (true) {
      if (eof() || at_newline()) fail("unterminated string (strings end on the line they start; use \"\"\" for several lines)");
      const char c = s_[p_++];
      if (c == '"') return out;
      if (c == '\\') {
        escape(out);
        continue;
      }
      check_char(c);
      out += c;
    }
  }
  std::string literal_string() {
    std::string out;
    while (true) {
      if (eof() || at_newline()) fail("unterminated string (strings end on the line they start; use ''' for several lines)");
      const char c = s_[p_++];
      if (c == '\'') return out;
      check_char(c);
      out += c;
    }
  }
  // After the opening """ or '''; a newline right after it is dropped, as TOML says.
  std::string multiline_string(char q) {
    std::string out;
    if (at_newline()) newline();
    while (true) {
      if (eof()) fail(std::string("unterminated string; close it with ") + std::string(3, q));
      if (peek() == q && peek(1) == q && peek(2) == q) {
        size_t n = 3;
        while (peek(n) == q) ++n;
        if (n > 5) fail("too many quotes closing a multi-line string");
        out.append(n - 3, q);
        p_ += n;
        return out;
      }
      if (at_newline()) {
        newline();
        out += '\n';
        continue;
      }
      const char c = s_[p_++];
      if (q == '"' && c == '\\') {
        size_t k = 0;  // a backslash ending a line trims it and the whitespace that follows
        while (peek(k) == ' ' || peek(k) == '\t') ++k;
        if (peek(k) == '\n' || (peek(k) == '\r' && peek(k + 1) == '\n')) {
          p_ += k;
          while (true) {
            skip_ws();
            if (!at_newline()) break;
            newline();
          }
          continue;
        }
        escape(out);
        continue;
      }
      check_char(c);
      out += c;
    }
  }
  Json array() {
    ++p_;  // '['
    Json::Array items;
    while (true) {
      skip_blank_lines();
      if (eof()) fail("unterminated array; close it with ']'");
      if (consume("]")) return Json(std::move(items));
      items.push_back(value());
      skip_blank_lines();
      if (consume(",")) continue;
      if (consume("]")) return Json(std::move(items));
      fail(eof() ? "unterminated array; close it with ']'" : "expected ',' or ']' in an array, found '" + std::string(1, peek()) + "'");
    }
  }
  Json inline_table() {
    ++p_;  // '{'
    Json obj = Json::object();
    skip_blank_lines();
    if (consume("}")) return obj;
    while (true) {
      skip_blank_lines();
      std::vector<std::string> segs = key();
      skip_ws();
      if (!consume("=")) fail("expected '=' after the key '" + join(segs) + "' in an inline table");
      skip_ws();
      if (!insert_nested(obj, segs, 0, value())) fail("key '" + join(segs) + "' is defined twice in an inline table");
      skip_blank_lines();
      if (consume(",")) continue;
      if (consume("}")) return obj;
      fail(eof() ? "unterminated inline table; close it with '}'" : "expected ',' or '}' in an inline table, found '" + std::string(1, peek()) + "'");
    }
  }

  std::string_view s_;
  std::string source_;
  size_t p_ = 0;
  int line_ = 1;
};

bool bare_key(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!is_bare_key_char(c)) return false;
  return true;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string key_text(const std::string& key) {
  std::string out;
  for (const auto& seg : split_dots(key)) out += (out.empty() ? "" : ".") + (bare_key(seg) ? seg : quoted(seg));
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
  for (const auto& e : entries_) insert_nested(root, split_dots(e.key), 0, e.value);
  return root;
}

std::string TomlConfig::to_toml() const {
  std::string out;
  for (const auto& e : entries_) out += key_text(e.key) + " = " + toml_value_text(e.value) + "\n";
  return out;
}

std::string toml_value_text(const Json& v) {
  switch (v.kind()) {
    case Json::Kind::boolean: return v.as_bool() ? "true" : "false";
    case Json::Kind::integer: return std::to_string(v.as_int());
    case Json::Kind::number: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, v.as_number());
      std::string s(buf, r.ptr);
      if (s.find_first_of(".en") == std::string::npos) s += ".0";  // keep it a float when read back
      return s;
    }
    case Json::Kind::string: return quoted(v.as_string());
    case Json::Kind::array: {
      std::string out = "[";
      for (const auto& item : v.as_array()) out += (out.size() > 1 ? ", " : "") + toml_value_text(item);
      return out + "]";
    }
    case Json::Kind::object: {
      std::string out = "{";
      for (const auto& [k, item] : v.as_object())
        out += (out.size() > 1 ? ", " : "") + (bare_key(k) ? k : quoted(k)) + " = " + toml_value_text(item);
      return out + "}";
    }
    case Json::Kind::null: break;
  }
  throw ValueError("toml_value_text: TOML has no null");
}

TomlConfig parse_toml(std::string_view text, const std::string& source) { return Parser(text, source).document(); }

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
  auto trim = [](std::string s) {
    const size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  const std::string key_src = trim(assignment.substr(0, eq)), value_src = trim(assignment.substr(eq + 1));
  std::string key;
  try {
    Parser kp(key_src, "key");
    key = join(kp.key());
    if (!kp.eof()) kp.fail("unexpected text after the key");
  } catch (const FormatError& e) {
    throw ValueError(where + ": malformed key '" + key_src + "' (" + e.what() + ")");
  }
  if (value_src.empty()) throw ValueError(where + ": empty value; write " + key_src + "=\"\" for an empty string");
  Json value;
  try {
    Parser vp(value_src, "value");
    value = vp.value();
    vp.skip_ws();
    if (!vp.eof()) vp.fail("unexpected text after the value");
  } catch (const FormatError& e) {
    if (std::strchr("\"'[{", value_src[0])) throw ValueError(where + ": malformed value (" + e.what() + ")");
    value = Json(value_src);  // a bare word: a string
  }
  std::vector<std::pair<std::string, Json>> leaves;
  flatten(key, value, leaves);
  try {
    for (auto& [k, leaf] : leaves) config.set(k, std::move(leaf), where);
  } catch (const ValueError& e) {
    throw ValueError(where + ": " + e.what());
  }
}

}  // namespace asyndgan
