# The two commands of the README contract: `make run` and `make test`. Both install the system
# packages they need on a fresh Debian machine first.
# OpenMPI: `swift build` builds the MPI transport libTrainingLabMPI.so where its headers are installed, and the
# tests run backend=mpi under mpirun; the core library never links it.
PACKAGES := libopenblas-dev libomp-dev zlib1g-dev dataset-fashion-mnist libopenmpi-dev openmpi-bin patchelf pkg-config
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift
# Package.swift derives the plugin list from the folders under plugins/ and Tests/Plugins/; SwiftPM's shared
# manifest cache would keep an old list after a folder is added, so the manifest is read afresh every time.
SWIFTPM := --manifest-cache none

.PHONY: deps build release run test sanitize fuzz bench bench-peer install install-build clean

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
	.build/release/tlab train --out runs/main --overwrite

# The tests also render a report in a headless browser (ReportScreenshotTests); a target-specific value reaches
# the deps prerequisite, so `make run` does not install it.
test: PACKAGES += chromium

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

# `make install PREFIX=DIR` (default /usr/local): headers in PREFIX/include/traininglab, libTrainingLab.so with the
# SONAME libTrainingLab.so.MAJOR.MINOR of TL_VERSION (include/tl_plugin.h) (0.x versions change the ABI with every minor
# one), the MPI transport beside it when built, the method plugins in PREFIX/lib/traininglab/plugins (where the
# installed core looks by default), tlab in PREFIX/bin and PREFIX/lib/pkgconfig/traininglab.pc. SwiftPM builds
# the libraries without a SONAME, so the installed copies get it, and their references to the core, with
# patchelf. The Swift runtime stays where the toolchain has it (the libraries' RUNPATH names it).
# `make install-build BUILD=.build/debug` installs an existing build as it is (the tests do).
PREFIX ?= /usr/local
BUILD ?= .build/release
VERSION := $(shell sed -n 's/^\#define TL_VERSION "\(.*\)"/\1/p' include/tl_plugin.h)
SONAME := libTrainingLab.so.$(word 1,$(subst ., ,$(VERSION))).$(word 2,$(subst ., ,$(VERSION)))
PLUGINS := $(notdir $(patsubst %/,%,$(wildcard plugins/*/)))

install: release
	$(MAKE) install-build BUILD=.build/release

install-build:
	@test -n "$(VERSION)" || { echo "install: no version in Sources/TrainingLab/Core/Version.swift"; exit 1; }
	@command -v patchelf >/dev/null || { echo "install: patchelf is missing (make deps installs it)"; exit 1; }
	@test -f $(BUILD)/libTrainingLab.so || { echo "install: $(BUILD)/libTrainingLab.so is missing; build first (make release)"; exit 1; }
	install -d $(DESTDIR)$(PREFIX)/include/traininglab $(DESTDIR)$(PREFIX)/lib/traininglab/plugins $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 include/*.h $(DESTDIR)$(PREFIX)/include/traininglab/
	install -m 755 $(BUILD)/libTrainingLab.so $(DESTDIR)$(PREFIX)/lib/libTrainingLab.so.$(VERSION)
	patchelf --set-soname $(SONAME) $(DESTDIR)$(PREFIX)/lib/libTrainingLab.so.$(VERSION)
	ln -sf libTrainingLab.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libTrainingLab.so
	@set -e; relink() { \
		rpath=$$(patchelf --print-rpath "$$1" | sed "s|\$$ORIGIN|$$2|g"); \
		patchelf --replace-needed libTrainingLab.so $(SONAME) "$$1" && patchelf --set-rpath "$$rpath" "$$1"; }; \
	for name in $(PLUGINS); do \
		install -m 755 $(BUILD)/lib$$name.so $(DESTDIR)$(PREFIX)/lib/traininglab/plugins/; \
		relink $(DESTDIR)$(PREFIX)/lib/traininglab/plugins/lib$$name.so '$$ORIGIN/../..'; \
	done; \
	if [ -f $(BUILD)/libTrainingLabMPI.so ]; then \
		install -m 755 $(BUILD)/libTrainingLabMPI.so $(DESTDIR)$(PREFIX)/lib/; \
		relink $(DESTDIR)$(PREFIX)/lib/libTrainingLabMPI.so '$$ORIGIN'; \
	fi; \
	install -m 755 $(BUILD)/tlab $(DESTDIR)$(PREFIX)/bin/; \
	relink $(DESTDIR)$(PREFIX)/bin/tlab '$$ORIGIN/../lib'
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include/traininglab' '' \
		'Name: TrainingLab' 'Description: Published training methods as plugins over a C99 + OpenMP core' 'Version: $(VERSION)' \
		'Libs: -L$${libdir} -lTrainingLab -Wl,-rpath,$${libdir}' 'Cflags: -I$${includedir}' \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/traininglab.pc

clean:
	rm -rf .build
