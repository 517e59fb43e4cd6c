// Checks a prepared folder's shards against its prepare.json.
#include "data/prepared_dir.h"
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include "base/error.h"
#include "engine/io/json.h"

namespace asyndgan::data {

namespace fs = std::filesystem;

namespace {

struct Listed {
  std::string site;
  bool stamped = false;  // prepare.json of an earlier version records no size and checksum
  ShardStamp stamp;
};

std::string fix(const std::string& dir) {
  return msg("re-run `asyndgan prepare --out ", dir, " --overwrite` to rebuild the folder");
}

// Shard file name -> what prepare.json says of it.
std::map<std::string, Listed> read_listing(const std::string& dir, const fs::path& json_path) {
  std::ifstream in(json_path, std::ios::binary);
  if (!in) throw IOError(msg("cannot read ", json_path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  const Json j = parse_json(ss.str(), json_path.string());
  if (!j.is_object() || j.value("format", "") != "asyndgan-prepare" || !j.contains("sites") || !j.at("sites").is_array())
    throw FormatError(msg(json_path.string(), ": not a prepare.json of `asyndgan prepare` (no format or sites); ", fix(dir)));
  std::map<std::string, Listed> out;
  std::map<std::string, std::string> site_files;
  for (const Json& s : j.at("sites")) {
    if (!s.is_object() || !s.contains("site") || !s.at("site").is_string() || !s.contains("shard"))
      throw FormatError(msg(json_path.string(), ": a site entry lacks 'site' or 'shard'; ", fix(dir)));
    if (s.at("shard").is_null()) continue;  // a site without samples has no shard
    if (!s.at("shard").is_string()) throw FormatError(msg(json_path.string(), ": 'shard' must be a file name; ", fix(dir)));
    Listed l;
    l.site = s.at("site").get<std::string>();
    const std::string file = s.at("shard").get<std::string>();
    if (s.contains("shard_bytes") && s.contains("shard_crc32")) {
      if (!s.at("shard_bytes").is_number_unsigned() || !s.at("shard_crc32").is_number_unsigned())
        throw FormatError(msg(json_path.string(), ": 'shard_bytes' and 'shard_crc32' of ", file, " must be numbers; ", fix(dir)));
      l.stamped = true;
      l.stamp.bytes = s.at("shard_bytes").get<uint64_t>();
      l.stamp.crc32 = static_cast<uint32_t>(s.at("shard_crc32").get<uint64_t>());
    }
    auto [it, fresh] = site_files.emplace(l.site, file);
    if (!fresh)
      throw FormatError(msg(json_path.string(), ": site '", l.site, "' is listed twice (", it->second, " and ", file, "); ", fix(dir)));
    if (!out.emplace(file, l).second)
      throw FormatError(msg(json_path.string(), ": shard ", file, " is listed twice; ", fix(dir)));
  }
  return out;
}

void check_stamp(const std::string& path, const Listed& l, const fs::path& json_path, const std::string& dir) {
  if (!l.stamped) return;
  const ShardStamp s = shard_stamp(path);
  if (s.bytes != l.stamp.bytes || s.crc32 != l.stamp.crc32)
    throw FormatError(msg(path, " is not the shard that ", json_path.string(), " lists (", s.bytes, " bytes, checksum ",
                          s.crc32, "; it records ", l.stamp.bytes, " bytes, checksum ", l.stamp.crc32,
                          "): a shard of another prepare was copied in; ", fix(dir)));
}

}  // namespace

ShardStamp shard_stamp(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IOError(msg("cannot open shard '", path, "'"));
  ShardStamp s;
  s.bytes = static_cast<uint64_t>(in.tellg());
  if (s.bytes >= 4) {
    in.seekg(static_cast<std::streamoff>(s.bytes - 4));
    in.read(reinterpret_cast<char*>(&s.crc32), 4);
    if (!in) throw IOError(msg("cannot read shard '", path, "'"));
  }
  return s;
}

std::vector<std::string> prepared_shards(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw IOError(msg(dir, " is not a folder (run 'asyndgan prepare --out ", dir, "' first)"));
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file() && it->path().extension() == ".shard") files.push_back(it->path().string());
  if (ec) throw IOError(msg("cannot list ", dir, ": ", ec.message()));
  std::sort(files.begin(), files.end());
  const fs::path json_path = fs::path(dir) / "prepare.json";
  if (!fs::is_regular_file(json_path, ec)) {
    if (files.empty()) throw IOError(msg("no .shard files in ", dir, " (run 'asyndgan prepare --out ", dir, "' first)"));
    throw FormatError(msg(dir, " holds .shard files but no prepare.json: a prepare that stopped half way, or shards copied ",
                          "in by hand, so a site may be missing or stale; ", fix(dir)));
  }
  const std::map<std::string, Listed> listed = read_listing(dir, json_path);
  for (const std::string& f : files) {
    auto it = listed.find(fs::path(f).filename().string());
    if (it == listed.end())
      throw FormatError(msg(f, " is not listed in ", json_path.string(), ": a leftover of an earlier prepare, whose subjects would ",
                            "count twice; delete it, or ", fix(dir)));
    check_stamp(f, it->second, json_path, dir);
  }
  for (const auto& [file, l] : listed)
    if (!fs::is_regular_file(fs::path(dir) / file, ec))
      throw FormatError(msg(json_path.string(), " lists ", file, " (site '", l.site, "') but ", dir,
                            " has no such file: that site would be missing; ", fix(dir)));
  if (files.empty()) throw FormatError(msg(json_path.string(), " lists no shard; ", fix(dir)));
  return files;
}

void check_listed_shard(const std::string& path) {
  const fs::path p(path);
  const fs::path json_path = p.parent_path() / "prepare.json";
  std::error_code ec;
  if (!fs::is_regular_file(json_path, ec)) return;
  const std::string dir = p.parent_path().empty() ? "." : p.parent_path().string();
  const std::map<std::string, Listed> listed = read_listing(dir, json_path);
  auto it = listed.find(p.filename().string());
  if (it == listed.end())
    throw FormatError(msg(path, " is not listed in ", json_path.string(), " beside it: a leftover of an earlier prepare; ",
                          "delete it, or ", fix(dir)));
  check_stamp(path, it->second, json_path, dir);
}

void check_distinct_sites(const std::vector<std::string>& paths, const std::vector<std::string>& sites) {
  std::map<std::string, std::string> seen;
  for (size_t i = 0; i < paths.size() && i < sites.size(); ++i) {
    auto [it, fresh] = seen.emplace(sites[i], paths[i]);
    if (!fresh)
      throw FormatError(msg("two shards of site '", sites[i], "': ", it->second, " and ", paths[i],
                            "; a run takes one shard per site (give one of them, or prepare the sites together)"));
  }
}

}  // namespace asyndgan::data
