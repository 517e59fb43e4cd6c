// parse_json and dump_json: nlohmann's parser with a callback for the checks it lacks, its errors retyped.
#include "engine/io/json.h"
#include <cmath>
#include <cstdint>
#include <iterator>
#include <unordered_set>
#include <vector>
#include "base/error.h"

namespace asyndgan {
namespace {

constexpr int kMaxDepth = 256;

// A pointer into the text that counts the characters nlohmann has read, so that a problem the callback
// finds (where nlohmann gives no position) can still be placed at a byte offset.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator(const char* at, size_t* read) : at_(at), read_(read) {}
  reference operator*() const { return *at_; }
  CountingIterator& operator++() {
    ++at_;
    ++*read_;
    return *this;
  }
  bool operator==(const CountingIterator& other) const { return at_ == other.at_; }
  bool operator!=(const CountingIterator& other) const { return at_ != other.at_; }

 private:
  const char* at_;
  size_t* read_;
};

// Thrown by the callback; parse_json adds the source and the offset.
struct Refused {
  std::string what;
};

// nlohmann's what() opens with "[json.exception.parse_error.101] parse error at line 1, column 2: ";
// the message that follows is what a reader needs.
std::string without_prefix(const std::string& what) {
  const size_t bracket = what.find("] ");
  std::string out = bracket == std::string::npos ? what : what.substr(bracket + 2);
  if (out.starts_with("parse error")) {
    const size_t colon = out.find(": ");
    if (colon != std::string::npos) out = out.substr(colon + 2);
  }
  return out;
}

void require_finite(const Json& value) {
  if (value.is_number_float() && !std::isfinite(value.get<double>()))
    throw ValueError(msg("JSON: cannot write the non-finite number ", value.get<double>()));
  if (value.is_structured())
    for (const Json& item : value) require_finite(item);
}

}  // namespace

Json parse_json(std::string_view text, const std::string& source) {
  size_t read = 0;
  std::vector<std::unordered_set<std::string>> open_objects;  // the keys seen in each enclosing object
  auto check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= kMaxDepth) throw Refused{msg("nesting deeper than ", kMaxDepth, " levels")};
        if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end: open_objects.pop_back(); break;
      case Json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second)
          throw Refused{msg("duplicate object key ", parsed.dump())};
        break;
      case Json::parse_event_t::value:
        if (parsed.is_number_unsigned() && parsed.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
          throw Refused{msg("integer ", parsed.dump(), " is beyond the i64 range")};
        break;
      case Json::parse_event_t::array_end: break;
    }
    return true;
  };
  try {
    return Json::parse(CountingIterator(text.data(), &read), CountingIterator(text.data() + text.size(), &read), check);
  } catch (const Json::parse_error& e) {
    throw FormatError(msg(source, ": malformed JSON at byte ", e.byte, ": ", without_prefix(e.what())));
  } catch (const Json::exception& e) {  // a number too large for a double
    throw FormatError(msg(source, ": malformed JSON at byte ", read, ": ", without_prefix(e.what())));
  } catch (const Refused& e) {
    throw FormatError(msg(source, ": malformed JSON at byte ", read, ": ", e.what));
  }
}

std::string dump_json(const Json& value) {
  require_finite(value);
  try {
    return value.dump();
  } catch (const Json::type_error& e) {  // a string that is not UTF-8
    throw ValueError(msg("JSON: ", without_prefix(e.what())));
  }
}

}  // namespace asyndgan
