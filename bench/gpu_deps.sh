#!/bin/sh
# Copies the few build dependencies a bare GPU machine may lack (doctest, nifticlib, zlib headers, nlohmann-json,
# toml++, CLI11, libspng, OpenSSL 3 and zstd headers and libraries) from this machine's Debian packages into .gpu-deps/ (git-ignored, a /usr layout), for carrying to a
# machine where nothing can be installed; bench/gpu_check.sh finds them there. OpenBLAS is not copied:
# fallback_blas.c stands in. toml++ and CLI11 only let cmake configure the whole project (apps/ needs them).
set -eu
cd "$(dirname "$0")/.."
dest=${1:-.gpu-deps}
exclude=$(git rev-parse --git-path info/exclude 2>/dev/null) && { grep -qx '/.gpu-deps/' "$exclude" 2>/dev/null || echo '/.gpu-deps/' >> "$exclude"; }
mkdir -p "$dest"
for p in /usr/include/doctest /usr/lib/cmake/doctest /usr/include/nifti /usr/include/zlib.h /usr/include/zconf.h \
         /usr/lib/x86_64-linux-gnu/libnifti2.so* /usr/lib/x86_64-linux-gnu/libznz.so* /usr/lib/x86_64-linux-gnu/libz.so* \
         /usr/include/nlohmann /usr/share/cmake/nlohmann_json /usr/include/CLI /usr/share/cmake/CLI11 \
         /usr/include/toml++ /usr/lib/x86_64-linux-gnu/cmake/tomlplusplus /usr/lib/x86_64-linux-gnu/libtomlplusplus.so* \
         /usr/include/spng.h /usr/lib/x86_64-linux-gnu/libspng.so* /usr/include/openssl /usr/include/x86_64-linux-gnu/openssl \
         /usr/lib/x86_64-linux-gnu/libssl.so* /usr/lib/x86_64-linux-gnu/libcrypto.so* /usr/include/zstd.h \
         /usr/include/zstd_errors.h /usr/lib/x86_64-linux-gnu/libzstd.so*; do
  if [ -e "$p" ]; then
    mkdir -p "$dest$(dirname "$p")" && cp -a "$p" "$dest$(dirname "$p")/"
  else
    echo "not on this machine: $p"
  fi
done
du -sh "$dest"
