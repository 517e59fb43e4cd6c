// Bytes per step and site on the wire, by message type and direction, at fp32, bf16 and fp16, each raw and with
// zstd, next to one FedAvg round of the same generator (its parameters down to the site and back up), at the
// shapes of the paper's runs: 256x256, batch 4, 4 modalities, U-Net G (ngf 64). The messages are those of real
// training steps (G's outputs and a site's gradients after a few steps), so zstd sees realistic content.
//   bench_wire_bytes [size=256] [batch=4] [steps=3]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include "bench/step_setup.h"
#include "dist/compress.h"
#include "dist/in_process_channel.h"

using namespace asyndgan;
using namespace asyndgan::dist;

namespace {

// A central end that forwards to another and keeps the last message of each type in both directions.
class Keep : public CentralChannel {
 public:
  explicit Keep(CentralChannel& inner) : inner_(inner) {}
  int64_t num_sites() const override { return inner_.num_sites(); }
  void send(int64_t site, const ToSite& m) override {
    if (std::holds_alternative<Request>(m)) request = std::get<Request>(m), request.synthetic = request.synthetic.clone();
    inner_.send(site, m);
  }
  ToCentral receive(int64_t site, Timeout t) override { return keep(inner_.receive(site, t)); }
  Incoming receive_any(Timeout t) override {
    Incoming in = inner_.receive_any(t);
    keep(in.message);
    return in;
  }
  void close(int64_t site) override { inner_.close(site); }
  Traffic traffic() const override { return inner_.traffic(); }
  void receive_on(Device device) override { inner_.receive_on(device); }
  Request request;
  Gradient gradient;

 private:
  ToCentral keep(ToCentral m) {
    if (std::holds_alternative<Gradient>(m)) gradient = std::get<Gradient>(m);
    return m;
  }
  CentralChannel& inner_;
};

}  // namespace

int main(int argc, char** argv) {
  const int64_t size = argc > 1 ? std::atoll(argv[1]) : 256, batch = argc > 2 ? std::atoll(argv[2]) : 4;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 3;
  const auto dir = std::filesystem::temp_directory_path() / "asyndgan_wire_bytes";
  std::filesystem::create_directories(dir);
  const std::string shard = bench::write_shard(dir, 0, size, 2 * batch);
  SimulationSpec spec = bench::make_spec({shard}, size, batch, "instance");
  TrainOptions o = spec.options;

  InProcessChannel ch(1, WireDtype::f32);
  Keep keep(ch.central());
  manual_seed(o.seed);
  auto g = spec.make_generator(5, 4);
  int64_t params = 0;
  for (const Tensor& p : g->parameters()) params += p.numel();
  Central central(g, keep, o);
  Site site(data::Shard::open(shard), ch.site(0), o, spec.make_discriminator, 1);
  site.connect();
  central.connect();
  central.start();
  site.serve_one();
  for (int s = 0; s < steps; ++s) {
    central.begin_step();
    site.serve_request();
    central.finish_step();
  }
  const double fedavg = 2.0 * static_cast<double>(params) * 4;  // f32 parameters down and up
  std::printf("wire bytes per step and site at %lldx%lld, batch %lld, 4 modalities (after %d steps); U-Net G with %lld "
              "parameters: one FedAvg round = %.1f MB (both directions)\n",
              static_cast<long long>(size), static_cast<long long>(size), static_cast<long long>(batch), steps,
              static_cast<long long>(params), fedavg / 1e6);
  std::printf("| wire | request (down) | gradient (up) | step total | 1 / (share of FedAvg) |\n|---|---:|---:|---:|---:|\n");
  for (WireDtype w : {WireDtype::f32, WireDtype::bf16, WireDtype::f16})
    for (bool zstd : {false, true}) {
      const std::vector<uint8_t> down = encode(ToSite{keep.request}, w), up = encode(ToCentral{keep.gradient}, w);
      const double d = zstd ? static_cast<double>(zstd_compress(down).size()) : static_cast<double>(down.size());
      const double u = zstd ? static_cast<double>(zstd_compress(up).size()) : static_cast<double>(up.size());
      std::printf("| %s%s | %.3f MB | %.3f MB | %.3f MB | %.0fx less |\n", wire_dtype_name(w), zstd ? " + zstd" : "", d / 1e6,
                  u / 1e6, (d + u) / 1e6, fedavg / (d + u));
    }
  const Traffic t = ch.central().traffic();
  std::printf("once per run: hello %llu B, condition maps %.3f MB (u8, %lld samples)\n",
              static_cast<unsigned long long>(t.bytes[0][static_cast<size_t>(MessageType::hello)]),
              static_cast<double>(t.bytes[0][static_cast<size_t>(MessageType::conditions)]) / 1e6,
              static_cast<long long>(site.num_samples()));
  std::filesystem::remove_all(dir);
  return 0;
}
