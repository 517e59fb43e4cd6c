// JSON reader (recursive descent over a string_view) and writer.
#include "engine/io/json.h"
#include "engine/io/text.h"
#include <charconv>
#include <cmath>
#include <set>
#include "base/error.h"

namespace asyndgan {

const char* json_kind_name(Json::Kind k) {
  switch (k) {
    case Json::Kind::null: return "null";
    case Json::Kind::boolean: return "boolean";
    case Json::Kind::integer: return "integer";
    case Json::Kind::number: return "number";
    case Json::Kind::string: return "string";
    case Json::Kind::array: return "array";
    case Json::Kind::object: return "object";
  }
  return "?";
}

Json::Json(uint64_t v) {
  if (v > static_cast<uint64_t>(INT64_MAX)) throw ValueError(msg("Json: integer ", v, " does not fit in i64"));
  v_ = static_cast<int64_t>(v);
}

Json Json::object(Object members) {
  std::set<std::string_view> keys;
  for (const auto& entry : members)
    if (!keys.insert(entry.first).second) throw ValueError(msg("JSON: duplicate object key \"", entry.first, "\""));
  Json j;
  j.v_ = std::move(members);
  return j;
}

namespace {
[[noreturn]] void wrong_kind(Json::Kind want, Json::Kind got) {
  throw ValueError(msg("JSON: expected ", json_kind_name(want), ", got ", json_kind_name(got)));
}
}  // namespace

bool Json::as_bool() const {
  if (kind() != Kind::boolean) wrong_kind(Kind::boolean, kind());
  return std::get<bool>(v_);
}
int64_t Json::as_int() const {
  if (kind() != Kind::integer) wrong_kind(Kind::integer, kind());
  return std::get<int64_t>(v_);
}
double Json::as_number() const {
  if (kind() == Kind::integer) return static_cast<double>(std::get<int64_t>(v_));
  if (kind() != Kind::number) wrong_kind(Kind::number, kind());
  return std::get<double>(v_);
}
const std::string& Json::as_string() const {
  if (kind() != Kind::string) wrong_kind(Kind::string, kind());
  return std::get<std::string>(v_);
}
const Json::Array& Json::as_array() const {
  if (kind() != Kind::array) wrong_kind(Kind::array, kind());
  return std::get<Array>(v_);
}
const Json::Object& Json::as_object() const {
  if (kind() != Kind::object) wrong_kind(Kind::object, kind());
  return std::get<Object>(v_);
}

const Json* Json::find(const std::string& key) const {
  for (const auto& [k, v] : as_object())
    if (k == key) return &v;
  return nullptr;
}

void Json::set(const std::string& key, Json value) {
  if (kind() != Kind::object) wrong_kind(Kind::object, kind());
  for (auto& [k, v] : std::get<Object>(v_))
    if (k == key) {
      v = std::move(value);
      return;
    }
  std::get<Object>(v_).emplace_back(key, std::move(value));
}

void Json::push_back(Json value) {
  if (kind() != Kind::array) wrong_kind(Kind::array, kind());
  std::get<Array>(v_).push_back(std::move(value));
}

// ---------------------------------------------------------------- writer

namespace {
void dump_string(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          static const char* hex = "0123456789abcdef";
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}
}  // namespace

void Json::dump_to(std::string& out) const {
  switch (kind()) {
    case Kind::null: out += "null"; break;
    case Kind::boolean: out += std::get<bool>(v_) ? "true" : "false"; break;
    case Kind::integer: out += std::to_string(std::get<int64_t>(v_)); break;
    case Kind::number: {
      const double d = std::get<double>(v_);
      if (!std::isfinite(d)) throw ValueError(msg("JSON: cannot write the non-finite number ", d));
      char buf[32];
      auto res = std::to_chars(buf, buf + sizeof buf, d);  // shortest text that reads back as d
      std::string text(buf, res.ptr);
      // keep it a number on reparse, not an integer
      if (text.find_first_of(".eE") == std::string::npos) text += ".0";
      out += text;
      break;
    }
    case Kind::string: dump_string(std::get<std::string>(v_), out); break;
    case Kind::array: {
      out += '[';
      bool first = true;
      for (const Json& v : std::get<Array>(v_)) {
        if (!first) out += ',';
        first = false;
        v.dump_to(out);
      }
      out += ']';
      break;
    }
    case Kind::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : std::get<Object>(v_)) {
        if (!first) out += ',';
        first = false;
        dump_string(k, out);
        out += ':';
        v.dump_to(out);
      }
      out += '}';
      break;
    }
  }
}

std::string Json::dump() const {
  std::string out;
  dump_to(out);
  return out;
}

// ---------------------------------------------------------------- reader

namespace {

constexpr int kMaxDepth = 256;

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Json document() {
    Json v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(msg("JSON: ", what, " at byte ", pos_));
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  char peek() {
    if (pos_ >= s_.size()) fail("unexpected end of text");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail(msg("expected '", c, "', found '", s_[pos_], "'"));
    ++pos_;
  }
  void literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail("invalid literal");
    pos_ += word.size();
  }

  Json value(int depth) {
    if (depth > kMaxDepth) fail(msg("nesting deeper than ", kMaxDepth, " levels"));
    skip_ws();
    switch (peek()) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return Json(string());
      case 't': literal("true"); return Json(true);
      case 'f': literal("false"); return Json(false);
      case 'n': literal("null"); return Json();
      default: return number();
    }
  }

  Json object(int depth) {
    expect('{');
    Json::Object members;
    std::set<std::string> keys;
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return Json::object();
    }
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected a string key");
      const size_t key_pos = pos_;
      std::string key = string();
      if (!keys.insert(key).second) {
        pos_ = key_pos;
        fail(msg("duplicate key \"", key, "\""));
      }
      skip_ws();
      expect(':');
      members.emplace_back(std::move(key), value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect('}');
      return Json::object(std::move(members));
    }
  }

  Json array(int depth) {
    expect('[');
    Json arr(Json::Array{});
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      arr.push_back(value(depth + 1));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      expect(']');
      return arr;
    }
  }

  unsigned hex4() {
    if (s_.size() - pos_ < 4) fail("truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
      else fail("invalid hex digit in \\u escape");
    }
    return v;
  }

  // Copies one well-formed UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
  void utf8_sequence(std::string& out) {
    const auto b0 = static_cast<unsigned char>(s_[pos_]);
    int len;
    uint32_t cp, min;
    if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1F, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0F, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07, min = 0x10000;
    else fail("invalid UTF-8 in a string");
    if (s_.size() - pos_ < static_cast<size_t>(len)) fail("truncated UTF-8 sequence in a string");
    for (int i = 1; i < len; ++i) {
      const auto b = static_cast<unsigned char>(s_[pos_ + i]);
      if ((b & 0xC0) != 0x80) fail("invalid UTF-8 in a string");
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) fail("invalid UTF-8 in a string");
    out.append(s_.substr(pos_, len));
    pos_ += len;
  }

  std::string string() {
    expect('"');
    std::string out;
    for (;;) {
      const char c = peek();
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("unescaped control character in a string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        utf8_sequence(out);
        continue;
      }
      ++pos_;
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = peek();
      ++pos_;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (s_.substr(pos_, 2) != "\\u") fail("unpaired high surrogate in \\u escape");
            pos_ += 2;
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid low surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default: --pos_; fail(msg("invalid escape '\\", e, "'"));
      }
    }
  }

  Json number() {
    const size_t start = pos_;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') fail("invalid value");
    if (s_[pos_] == '0') {
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') fail("leading zero in a number");
    } else {
      digits();
    }
    bool integral = true;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      integral = false;
      if (digits() == 0) fail("expected digits after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      integral = false;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("expected digits in the exponent");
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integral) {
      int64_t v = 0;
      auto res = std::from_chars(first, last, v);
      if (res.ec != std::errc() || res.ptr != last) {
        pos_ = start;
        fail("integer out of the i64 range");
      }
      return Json(v);
    }
    double d = 0;
    auto res = std::from_chars(first, last, d);
    if (res.ec != std::errc() || res.ptr != last || !std::isfinite(d)) {
      pos_ = start;
      fail("number out of range");
    }
    return Json(d);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Json parse_json(std::string_view text) { return Parser(text).document(); }

}  // namespace asyndgan
