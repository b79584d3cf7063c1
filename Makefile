# The two quick-start commands, `make demo` and `make test`, each set up what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SOAK_BUILD ?= build-fuzz-soak
TSAN_BUILD ?= build-tsan
CLANGXX    := $(shell command -v clang++ 2>/dev/null)
JOBS       ?= 2
# ctest's parallelism for the normal build's suite: most of its time is the binary waiting on a
# sandbox or a fault proxy on loopback, so it runs more tests at once than there are cores.
TEST_JOBS  ?= 4
# Line tables only (file:line in backtraces and sanitizer reports): a third less compile time than
# full debug info, which keeps `make test` on a fresh clone under its 20 minutes. DEBUG_INFO=-g
# (in a fresh build directory) for a debugger's view of locals.
DEBUG_INFO ?= -g1
RELFLAGS   := "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 $(DEBUG_INFO) -DNDEBUG"
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
BIN        := $(BUILD)/sogni-flow

.PHONY: all setup build package test test-fast asan asan-build fuzz fuzz-build fuzz-soak demo bench clean soak tsan mutate

# The libFuzzer targets (tests/fuzz/fuzzers.cmake) and their deterministic replays.
FUZZERS    := plan sse json envelope url param approval http_answer batch report
FUZZ_TARGETS  := $(addsuffix _fuzzer,$(FUZZERS))
SMOKE_TARGETS := $(addsuffix _fuzz_smoke,$(FUZZERS))

all: build

setup:
	@scripts/setup

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(RELFLAGS) -DSFLOW_WERROR=ON

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The .deb of the binary, its manual page and completions: $(BUILD)/sogni-flow_VERSION_ARCH.deb.
package: build
	cd $(BUILD) && cpack -G DEB

# The whole suite: the normal build; the unit tests again under ASan/UBSan; each fuzzer under
# libFuzzer for 25 s (two at a time) where clang is installed (scripts/setup installs it).
# The ASan and libFuzzer builds run (niced, their output in $(BUILD)/sanitizer-builds.log) while
# the normal build's suite runs: most of that suite's time is the binary waiting on a sandbox
# over loopback, which leaves a core to compile on. Either failing fails `make test`, after both
# have ended (nothing is left running).
test: build
	@log=$(BUILD)/sanitizer-builds.log; \
	nice -n 19 $(MAKE) --no-print-directory asan-build fuzz-build > $$log 2>&1 & builds=$$!; \
	ctest --test-dir $(BUILD) --output-on-failure -j$(TEST_JOBS); suite=$$?; \
	if ! wait $$builds; then echo "the ASan or libFuzzer build failed ($$log):"; tail -40 $$log; exit 1; fi; \
	echo "ASan and libFuzzer builds: done ($$log)"; exit $$suite
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) -L unit
	@if [ -n "$(CLANGXX)" ]; then ctest --test-dir $(FUZZ_BUILD) --output-on-failure -L fuzz -j2; \
	 else echo "clang++ not found: the libFuzzer run is skipped (the deterministic fuzz smoke test ran)"; fi

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(TEST_JOBS)

# asan and fuzz set up what is missing first; asan-build and fuzz-build (for `make test`, after
# `build` did that) do not.
asan: setup asan-build
asan-build:
	@[ -f $(ASAN_BUILD)/CMakeCache.txt ] || cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) \
	  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=$(DEBUG_INFO)" -DSFLOW_SANITIZE=ON -DSFLOW_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target sflow_tests plan_fuzz_smoke sflow_media_tests sflow_sandbox_tests sflow_record_check sflow_api_tests sflow_api_net_tests sflow_store_tests sflow_run_tests \
	  $(SMOKE_TARGETS) sflow_fault_proxy_tests sflow_artifact_publish_tests

fuzz: setup fuzz-build
fuzz-build:
	@if [ -n "$(CLANGXX)" ]; then \
	  [ -f $(FUZZ_BUILD)/CMakeCache.txt ] || cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(RELFLAGS) \
	    -DCMAKE_CXX_COMPILER=$(CLANGXX) -DSFLOW_FUZZ=ON -DSFLOW_BUILD_BENCH=OFF; \
	  cmake --build $(FUZZ_BUILD) -j$(JOBS) --target $(FUZZ_TARGETS); fi

# The libFuzzer build of scripts/soak's 10 M runs per target: UBSan without ASan, for
# throughput (docs/reliability.md, "Fuzzers", gives the trade-off; `make test` keeps ASan).
fuzz-soak: setup
	@if [ -n "$(CLANGXX)" ]; then \
	  [ -f $(FUZZ_SOAK_BUILD)/CMakeCache.txt ] || cmake -S . -B $(FUZZ_SOAK_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(RELFLAGS) \
	    -DCMAKE_CXX_COMPILER=$(CLANGXX) -DSFLOW_FUZZ=ON -DSFLOW_FUZZ_SANITIZERS=undefined -DSFLOW_BUILD_BENCH=OFF; \
	  cmake --build $(FUZZ_SOAK_BUILD) -j$(JOBS) --target $(FUZZ_TARGETS); fi

# The long forms (scripts/soak, docs/reliability.md): the crash-point sweep, the fault-proxy
# matrix, every fuzzer for 10 M executions, the ThreadSanitizer build over the concurrency tests,
# the lock races. Under an hour on 2 cores; prints its figures at the end.
soak: build fuzz fuzz-soak tsan
	@scripts/soak

# The ThreadSanitizer build of what runs threads: the binary, the run driver's and the store's
# tests (scripts/soak runs them).
tsan: setup
	@[ -f $(TSAN_BUILD)/CMakeCache.txt ] || cmake -S . -B $(TSAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(RELFLAGS) \
	  "-DCMAKE_CXX_FLAGS=-fsanitize=thread -fno-omit-frame-pointer" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
	  -DSFLOW_BUILD_BENCH=OFF
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target sogni-flow fault_proxy sflow_run_tests sflow_store_tests

# The mutation check (scripts/mutate, tests/mutants/mutants.txt): fails under 90% killed.
mutate: setup
	@scripts/mutate

demo: build
	@scripts/demo $(BIN)

bench: build
	@scripts/bench $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(FUZZ_SOAK_BUILD) $(TSAN_BUILD) build-mutate
