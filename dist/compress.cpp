// zstd through its streaming API, bounded on the way in.
#include "dist/compress.h"
#include <zstd.h>
#include <memory>
#include "dist/frame.h"

namespace asyndgan::dist {

std::vector<uint8_t> zstd_compress(std::span<const uint8_t> data, int level) {
  std::vector<uint8_t> out(ZSTD_compressBound(data.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) throw Error(msg("zstd: compression failed: ", ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

std::vector<uint8_t> zstd_decompress(std::span<const uint8_t> data, uint64_t max_bytes) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!ctx) throw Error("zstd: cannot create a decompression context");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(ZSTD_DStreamOutSize());
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t left = 1;
  while (in.pos < in.size || left != 0) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    left = ZSTD_decompressStream(ctx.get(), &o, &in);
    if (ZSTD_isError(left)) throw FrameError("zstd", msg("frame: corrupt zstd payload: ", ZSTD_getErrorName(left)));
    if (out.size() + o.pos > max_bytes)
      throw FrameError("zstd", msg("frame: the zstd payload decompresses to more than this run's largest message (",
                                   max_bytes, " bytes)"));
    out.insert(out.end(), chunk.data(), chunk.data() + o.pos);
    if (o.pos == 0 && in.pos == in.size && left != 0)
      throw FrameError("zstd", "frame: the zstd payload is truncated");
  }
  return out;
}

}  // namespace asyndgan::dist
