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

.PHONY: deps build release run test bench clean

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

bench: release
	.build/release/tlab bench --json

clean:
	rm -rf .build
