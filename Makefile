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

.PHONY: deps build release run test bench bench-peer clean

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

# `swift build --build-tests` also builds every plugin library and the MPI transport, which the tests load with
# dlopen; a bare `swift test` would only build what the test targets link.
test: deps
	$(SWIFT) build --build-tests $(SWIFTPM)
	$(SWIFT) test --skip-build $(SWIFTPM)

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
