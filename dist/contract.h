// The run contract: the settings the central node and every site of a run must share (losses, networks, image
// shape, modalities, wire dtype, ...), carried in each site's Hello with their hash; a site whose contract
// differs is refused with a message naming the differing keys. A site's own settings (its shard, certificate,
// device, privacy options) are not in it: it declares them in Hello instead.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include "dist/messages.h"
#include "dist/options.h"

namespace asyndgan::dist {

// The algorithm's settings from the options under their config keys (loss.gan, loss.lambda_l1, ..., dist.wire_dtype)
// and options.contract (what the program adds: the networks), sorted by key. ValueError on a key given twice.
Settings run_contract(const TrainOptions& options);

// SHA-256 (OpenSSL) of `bytes`: 32 bytes.
std::array<uint8_t, 32> sha256(std::string_view bytes);

// Lowercase hex SHA-256 of the settings as "key=value\n" lines in order.
std::string contract_hash(const Settings& contract);

// "" when equal; otherwise one line naming every key that differs or is missing on one side, with both values:
// "loss.lambda_l1 (central 100, site 10); model.ngf (central 64, site missing)".
std::string contract_differences(const Settings& central, const Settings& site);

}  // namespace asyndgan::dist
