# The two quick-start commands, `make demo` and `make test`, each set up what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CLANGXX    := $(shell command -v clang++ 2>/dev/null)
JOBS       ?= 2
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
BIN        := $(BUILD)/sogni-flow

.PHONY: all setup build test test-fast asan fuzz demo bench clean

all: build

setup:
	@scripts/setup

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFLOW_WERROR=ON

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The whole suite: the normal build; the unit tests again under ASan/UBSan; the plan fuzzer under
# libFuzzer for a minute where clang is installed (scripts/setup installs it).
test: build asan fuzz
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) -L unit
	@if [ -n "$(CLANGXX)" ]; then ctest --test-dir $(FUZZ_BUILD) --output-on-failure -L fuzz; \
	 else echo "clang++ not found: the libFuzzer run is skipped (the deterministic fuzz smoke test ran)"; fi

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

asan: setup
	@[ -f $(ASAN_BUILD)/CMakeCache.txt ] || cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) \
	  -DCMAKE_BUILD_TYPE=Debug -DSFLOW_SANITIZE=ON -DSFLOW_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target sflow_tests plan_fuzz_smoke sflow_media_tests sflow_sandbox_tests sflow_record_check sflow_api_tests sflow_api_net_tests sflow_store_tests sflow_run_tests

fuzz: setup
	@if [ -n "$(CLANGXX)" ]; then \
	  [ -f $(FUZZ_BUILD)/CMakeCache.txt ] || cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_CXX_COMPILER=$(CLANGXX) -DSFLOW_FUZZ=ON -DSFLOW_BUILD_BENCH=OFF; \
	  cmake --build $(FUZZ_BUILD) -j$(JOBS) --target plan_fuzzer; fi

demo: build
	@scripts/demo $(BIN)

bench: build
	@scripts/bench $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
