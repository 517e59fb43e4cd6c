// JSON for the project's files (safetensors headers, prepare.json, metrics lines) over nlohmann::json:
// a strict reader whose errors name the source and byte offset, and a writer that refuses NaN and infinity.
// Not reachable from engine/engine.h: an installed engine's users need no nlohmann headers.
#pragma once
#include <string>
#include <string_view>
#include <nlohmann/json.hpp>

namespace asyndgan {

// Objects keep insertion order. Integers stay integers (non-negative ones as unsigned), so i64 offsets
// and shapes round-trip exactly.
using Json = nlohmann::ordered_json;

// Strict RFC 8259 (no comments, trailing commas or leading zeros) and, beyond nlohmann's checks: no
// duplicate object keys, integers within i64, at most 256 levels of nesting. Anything else is a
// FormatError "<source>: malformed JSON at byte N: <what>".
Json parse_json(std::string_view text, const std::string& source);

// Compact text (no spaces); numbers round-trip exactly. ValueError for a NaN or infinity, which
// nlohmann would write as null, and for a string that is not UTF-8.
std::string dump_json(const Json& value);

}  // namespace asyndgan
