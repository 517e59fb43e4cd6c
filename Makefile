# Wraps CMake: installs the Debian packages the build needs when missing, then builds, tests or demos.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
DEB_PACKAGES := cmake g++ make libopenblas0-openmp doctest-dev libnifti2-dev zlib1g-dev nlohmann-json3-dev \
  libtomlplusplus-dev libcli11-dev libspng-dev nifti-bin python3-pil libssl-dev

.PHONY: all deps configure build test quickstart bench clean

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

# Builds only the command-line tool it runs, not the tests and benchmarks.
quickstart: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target asyndgan
	BUILD_DIR=$(BUILD_DIR) scripts/quickstart.sh

bench: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target bench_conv_bench
	$(BUILD_DIR)/bench/bench_conv_bench

clean:
	rm -rf $(BUILD_DIR)
