// A folder that `asyndgan prepare` wrote: its prepare.json lists each site's shard with the file's size and
// stored checksum, so a leftover shard of an earlier prepare, or a folder a failed prepare left half-written,
// is refused instead of being trained on.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace asyndgan::data {

// What prepare.json records of a shard file: its size and its stored CRC-32 (the file's last 4 bytes), which
// Shard::open checks against the content. IOError naming the file when it cannot be read.
struct ShardStamp {
  uint64_t bytes = 0;
  uint32_t crc32 = 0;
};
ShardStamp shard_stamp(const std::string& path);

// The .shard files of a prepared folder, sorted by name, once the folder checks out against its prepare.json:
// every listed shard present with its recorded size and checksum, no .shard file it does not list, no site
// listed twice. A FormatError naming the file and the fix otherwise (a folder with neither prepare.json
// nor shards: an IOError saying to run prepare).
std::vector<std::string> prepared_shards(const std::string& dir);

// A shard named by its file: when a prepare.json lies beside it, the file must be one that it lists, as
// recorded (a shard without one, e.g. the single shard a deployed site keeps, is taken as it is).
void check_listed_shard(const std::string& path);

// One shard per site: `sites[i]` is the site in the header of `paths[i]`; a FormatError naming both files of
// a site given twice.
void check_distinct_sites(const std::vector<std::string>& paths, const std::vector<std::string>& sites);

}  // namespace asyndgan::data
