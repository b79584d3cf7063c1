# The two quick-start commands, `make demo` and `make test`, each set up what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= 2
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
BIN        := $(BUILD)/sogni-flow

.PHONY: all setup build test test-fast asan demo bench clean

all: build

setup:
	@scripts/setup

$(BUILD)/CMakeCache.txt: | setup
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSFLOW_WERROR=ON

build: setup $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

# The whole suite: the normal build, then the unit tests again under ASan/UBSan.
test: build asan
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) -L unit

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)

asan: setup
	@[ -f $(ASAN_BUILD)/CMakeCache.txt ] || cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) \
	  -DCMAKE_BUILD_TYPE=Debug -DSFLOW_SANITIZE=ON -DSFLOW_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target sflow_tests

demo: build
	@scripts/demo $(BIN)

bench: build
	@scripts/bench $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
