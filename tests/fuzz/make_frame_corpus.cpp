// Writes the fuzz target's seed corpus (tests/fuzz/corpus/frame/): valid frames holding each message type, at
// each wire dtype, plus near-valid ones (zstd, truncated, two frames back to back). Run by hand when the
// protocol changes: make_frame_corpus DIR.
#include <cstdio>
#include <fstream>
#include <string>
#include "dist/frame.h"
#include "dist/messages.h"
#include "engine/rng.h"

using namespace asyndgan;
using namespace asyndgan::dist;

namespace {

int written = 0;

void save(const std::string& dir, uint8_t mode, const std::vector<uint8_t>& stream) {
  std::ofstream out(dir + "/seed_" + std::to_string(written++), std::ios::binary);
  out.put(static_cast<char>(mode));
  out.write(reinterpret_cast<const char*>(stream.data()), static_cast<std::streamsize>(stream.size()));
}

std::vector<uint8_t> frame(MessageType t, const std::vector<uint8_t>& payload, bool zstd = false) {
  FrameHeader h{};
  h.version = kProtocolVersion;
  h.type = static_cast<uint8_t>(t);
  h.step = 3;
  return encode_frame(h, payload, zstd);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return std::fprintf(stderr, "usage: make_frame_corpus DIR\n"), 2;
  const std::string dir = argv[1];
  Generator g(1);
  Hello h;
  h.contract = {{"loss.gan", "vanilla"}};
  h.site = "SiteA";
  h.samples = 2;
  h.height = h.width = 4;
  h.condition_channels = {"label"};
  h.image_channels = {"t1", "t2"};
  h.has_modality = {1, 0};
  ConditionUpload u;
  u.keys = {1, 2};
  u.conditions = Tensor::zeros({2, 1, 4, 4}, DType::u8);
  Request r;
  r.keys = {1};
  r.aug = {data::CropFlip{}};
  r.synthetic = Tensor::randn({1, 2, 4, 4}, g);
  Gradient gr;
  gr.samples = 1;
  gr.grad = Tensor::randn({1, 2, 4, 4}, g);
  for (int w = 0; w < 3; ++w) {
    const auto wire = static_cast<WireDtype>(w);
    const uint8_t up = static_cast<uint8_t>(w << 1), down = static_cast<uint8_t>(1 | (w << 1));
    save(dir, up, frame(MessageType::hello, encode(ToCentral{h}, wire)));
    save(dir, up, frame(MessageType::gradient, encode(ToCentral{gr}, wire)));
    save(dir, down, frame(MessageType::request, encode(ToSite{r}, wire)));
  }
  save(dir, 0, frame(MessageType::conditions, encode(ToCentral{u})));
  save(dir, 1, frame(MessageType::control, encode(ToSite{Control{ControlKind::set_lr, 4, 1e-4}})));
  save(dir, 1, frame(MessageType::failure, encode(ToSite{Failure{"no"}}), true));
  auto two = frame(MessageType::hello, encode(ToCentral{h}));
  const auto g2 = frame(MessageType::gradient, encode(ToCentral{gr}), true);
  two.insert(two.end(), g2.begin(), g2.end());
  save(dir, 8, two);
  auto cut = frame(MessageType::request, encode(ToSite{r}));
  cut.resize(cut.size() / 2);
  save(dir, 1, cut);
  // Bare messages (mode bit 4), for the decoder past the frame's CRC.
  save(dir, 16, encode(ToCentral{h}));
  save(dir, 16 | 1 | (1 << 1), encode(ToSite{r}, WireDtype::bf16));
  save(dir, 16, encode(ToCentral{u}));
  std::printf("wrote %d seeds to %s\n", written, dir.c_str());
  return 0;
}
