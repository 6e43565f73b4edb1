# The two commands of the README contract: `make run` and `make test`. Both install the system
# packages they need on a fresh Debian machine first.
# OpenMPI: `swift build` builds the MPI transport libTrainingLabMPI.so where its headers are installed, and the
# tests run backend=mpi under mpirun; the core library never links it.
PACKAGES := libopenblas-dev libomp-dev zlib1g-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift
# Package.swift derives the plugin list from the folders under plugins/ and Tests/Plugins/; SwiftPM's shared
# manifest cache would keep an old list after a folder is added, so the manifest is read afresh every time.
SWIFTPM := --manifest-cache none

.PHONY: deps build release run test sanitize fuzz bench bench-peer clean

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build $(SWIFTPM)

release: deps
	$(SWIFT) build -c release $(SWIFTPM)

# The main job: train smallcnn on Fashion-MNIST (plain training, the erm method) and report.
run: release
	.build/release/tlab train --out runs/main

# `swift build --build-tests` also builds every plugin library and the MPI transport, which the tests load with
# dlopen; a bare `swift test` would only build what the test targets link.
test: deps
	$(SWIFT) build --build-tests $(SWIFTPM)
	$(SWIFT) test --skip-build $(SWIFTPM)

# The C core and the kernel tests under AddressSanitizer and UndefinedBehaviorSanitizer, in a scratch folder of
# their own so the ordinary .build stays as it is. ASan instruments the Swift and the C code; UBSan, which swiftc
# does not offer on Linux, the C code (-Xcc; its handlers come with the ASan runtime). UBSan stops at the first
# finding (-fno-sanitize-recover), so any report fails the run. Leak detection is off: at exit LeakSanitizer
# reports what the Swift runtime, XCTest and libomp's thread pool keep until the process ends, none of it the
# core's, and would fail every run. Swift's crash backtracer is off: it hung the failing test process.
# Only the test bundle is built (a bare `swift test` would build the plugins and tlab too, minutes under ASan).
SANITIZE_BUILD ?= .build-sanitize
SANITIZE_TESTS ?= CoreKernelTests
SANITIZE_SWIFTPM = $(SWIFTPM) --scratch-path $(SANITIZE_BUILD) --sanitize=address \
	-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
sanitize: deps
	$(SWIFT) build $(SANITIZE_SWIFTPM) --product TrainingLabProjectPackageTests
	SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(SWIFT) test $(SANITIZE_SWIFTPM) --skip-build --filter $(SANITIZE_TESTS)

# libFuzzer over each reader of outside files (Tests/Fuzz), FUZZ_RUNS inputs each, starting from the committed
# corpus Tests/Fuzz/corpus/<reader> (replayed by `make test`); new inputs go to .build-fuzz/corpus, a crash
# stops with its input saved as .build-fuzz/crash-<reader>-*: add it to the corpus as crash-<what> once fixed.
FUZZ_BUILD := $(CURDIR)/.build-fuzz
FUZZ_RUNS ?= 20000
FUZZ_READERS := json safetensors idx cifar
fuzz: deps
	$(SWIFT) build $(SWIFTPM) --package-path Tests/Fuzz --scratch-path $(FUZZ_BUILD) \
		-Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
	@for reader in $(FUZZ_READERS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$reader; \
		echo "fuzz $$reader: $(FUZZ_RUNS) runs"; \
		SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 TL_FUZZ_READER=$$reader $(FUZZ_BUILD)/debug/tlab-fuzz -runs=$(FUZZ_RUNS) -max_len=8192 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crash-$$reader- \
			$(FUZZ_BUILD)/corpus/$$reader Tests/Fuzz/corpus/$$reader || exit 1; \
	done

bench: release
	.build/release/tlab bench --json

# TrainingLab beside PyTorch on this machine, one after the other, in one table (README, "Side-by-side benchmark").
# Sets up PyTorch in $(PEER_VENV) the first time. `make bench-peer PEER_ARGS=--quick` for a check in well under a minute.
PEER_VENV := .venv-peer
PEER_ARGS ?=
bench-peer: release
	sh bench/peer_venv.sh $(PEER_VENV)
	python3 bench/side_by_side.py --venv $(PEER_VENV) --out runs/bench-peer.jsonl $(PEER_ARGS)

clean:
	rm -rf .build
