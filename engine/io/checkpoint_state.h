// Moves training state in and out of a Checkpoint: module state_dicts, Adam state, Generator state and
// integer counters, each under a caller-chosen key prefix so one file can hold a whole GAN run.
#pragma once
#include <cstdint>
#include <string>
#include "engine/io/checkpoint.h"
#include "engine/nn/module.h"
#include "engine/optim/adam.h"
#include "engine/rng.h"

namespace asyndgan {

// tensors[prefix + key] = a snapshot (copy) of each state_dict entry.
void put_module(Checkpoint& ckpt, const std::string& prefix, const nn::Module& m);
// Loads every tensor under `prefix` (prefix stripped) with load_state_dict(strict).
void get_module(const Checkpoint& ckpt, const std::string& prefix, nn::Module& m, bool strict = true);

void put_optimizer(Checkpoint& ckpt, const std::string& prefix, const optim::Adam& opt);
void get_optimizer(const Checkpoint& ckpt, const std::string& prefix, optim::Adam& opt);

// Stored exactly as decimal meta strings: name + ".seed" and name + ".offset".
void put_generator(Checkpoint& ckpt, const std::string& name, const Generator& gen);
void get_generator(const Checkpoint& ckpt, const std::string& name, Generator& gen);

// An integer counter (a step, an epoch) as a decimal meta string.
void put_int(Checkpoint& ckpt, const std::string& key, int64_t value);
// FormatError when the key is absent or not an integer.
int64_t get_int(const Checkpoint& ckpt, const std::string& key);

}  // namespace asyndgan
