// A small strict JSON value, reader and writer: enough for safetensors headers, configs and metrics.
// Objects keep insertion order and unique keys; integers and other numbers are kept apart so an i64
// offset or shape survives exactly.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace asyndgan {

class Json {
 public:
  enum class Kind { null, boolean, integer, number, string, array, object };
  using Array = std::vector<Json>;
  using Object = std::vector<std::pair<std::string, Json>>;

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : v_(b) {}
  Json(int v) : v_(int64_t{v}) {}
  Json(int64_t v) : v_(v) {}
  Json(uint64_t v);  // ValueError above INT64_MAX
  Json(double v) : v_(v) {}
  Json(std::string s) : v_(std::move(s)) {}
  Json(const char* s) : v_(std::string(s)) {}
  Json(Array a) : v_(std::move(a)) {}
  static Json object(Object members = {});  // ValueError on a duplicate key

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_null() const { return kind() == Kind::null; }
  bool is_integer() const { return kind() == Kind::integer; }
  bool is_string() const { return kind() == Kind::string; }
  bool is_array() const { return kind() == Kind::array; }
  bool is_object() const { return kind() == Kind::object; }

  // Typed access; a wrong kind is a ValueError naming the expected and actual kinds.
  bool as_bool() const;
  int64_t as_int() const;
  double as_number() const;  // an integer or a number
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;

  // Objects: the value for `key`, or null when absent; set() replaces or appends.
  const Json* find(const std::string& key) const;
  void set(const std::string& key, Json value);
  // Arrays: appends.
  void push_back(Json value);

  // Compact text (no spaces); numbers round-trip exactly. ValueError for a NaN or infinity.
  std::string dump() const;

 private:
  void dump_to(std::string& out) const;
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Array, Object> v_;
};

const char* json_kind_name(Json::Kind k);

// Strict RFC 8259: no comments, trailing commas, leading zeros or duplicate keys; strings must be valid
// UTF-8; integers must fit in i64; nesting is limited to 256 levels. A FormatError gives the byte offset.
Json parse_json(std::string_view text);

}  // namespace asyndgan
