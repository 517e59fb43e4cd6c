#!/usr/bin/env bash
# Builds the frame and message decoders with clang's libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer
# (the decoders instrumented; the engine they decode tensors into linked from the CMake build) and fuzzes them
# for SECONDS over the committed seed corpus. Exit 77 (ctest: skipped) without clang and libFuzzer.
#   tests/fuzz/run_fuzz_frame.sh SOURCE_DIR BUILD_DIR [SECONDS=60] [make-corpus]
set -euo pipefail
SRC=$1; BUILD=$2; SECONDS_TO_RUN=${3:-60}
CXX=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$CXX" ] || ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
     "$CXX" -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "skipped: no clang with libFuzzer (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi
WORK=$BUILD/fuzz_frame
mkdir -p "$WORK/corpus"
FLAGS=(-std=c++20 -O1 -g -I"$SRC" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined)
# The build's own libraries (and CUDA's, in a CUDA build), listed by CMake in tests/fuzz_frame_libs.txt.
LIBS=()
while read -r lib; do
  [ -n "$lib" ] || continue
  LIBS+=("$lib")
  case "$lib" in *.so*) LIBS+=("-Wl,-rpath,$(dirname "$lib")") ;; esac
done < "$BUILD/tests/fuzz_frame_libs.txt"
LIBS+=(-lzstd -lgomp -ldl -lpthread -lrt)
DECODERS=("$SRC/dist/frame.cpp" "$SRC/dist/compress.cpp" "$SRC/dist/messages.cpp" "$SRC/dist/wire_dtype.cpp")
"$CXX" "${FLAGS[@]}" "$SRC/tests/fuzz/fuzz_frame.cpp" "${DECODERS[@]}" "${LIBS[@]}" -o "$WORK/fuzz_frame"
if [ "${4:-}" = make-corpus ]; then
  "$CXX" -std=c++20 -O1 -I"$SRC" "$SRC/tests/fuzz/make_frame_corpus.cpp" "${DECODERS[@]}" "${LIBS[@]}" -o "$WORK/make_corpus"
  rm -f "$SRC"/tests/fuzz/corpus/frame/seed_*
  "$WORK/make_corpus" "$SRC/tests/fuzz/corpus/frame"
fi
# New inputs go to a scratch corpus; the committed seeds are read only.
"$WORK/fuzz_frame" -max_total_time="$SECONDS_TO_RUN" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
  -artifact_prefix="$WORK/" "$WORK/corpus" "$SRC/tests/fuzz/corpus/frame"
