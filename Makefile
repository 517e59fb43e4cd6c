# Wraps CMake: installs the Debian packages the build needs when missing, then builds, tests or demos.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEB_PACKAGES := cmake g++ make libopenblas0-openmp doctest-dev libnifti2-dev zlib1g-dev nlohmann-json3-dev \
  libtomlplusplus-dev libcli11-dev libspng-dev libssl-dev libzstd-dev nifti-bin python3-pil \
  clang libclang-rt-14-dev

.PHONY: all deps configure build test test-asan quickstart bench clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

configure: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The whole suite built with AddressSanitizer and UndefinedBehaviorSanitizer (gcc, CPU only) in build-asan/, but
# for the fuzz test (clang's own sanitizers, which cannot link against gcc's instrumented libraries) and the
# install check (its consumer builds without the sanitizer runtime).
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
test-asan: deps
	cmake -S . -B build-asan -DASYNDGAN_CUDA=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DCMAKE_CXX_FLAGS=$(ASAN_FLAGS)" "-DCMAKE_C_FLAGS=$(ASAN_FLAGS)" "-DCMAKE_EXE_LINKER_FLAGS=$(ASAN_FLAGS)" $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -E '^(fuzz_frame_decoders|install_consumer)$$' $(CTEST_FLAGS)

# Builds only the command-line tool it runs, not the tests and benchmarks.
quickstart: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target asyndgan
	BUILD_DIR=$(BUILD_DIR) scripts/quickstart.sh

bench: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target bench_conv_bench
	$(BUILD_DIR)/bench/bench_conv_bench

clean:
	rm -rf $(BUILD_DIR)
