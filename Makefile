# The two commands of the README contract: `make run` and `make test`. Both install the system
# packages they need on a fresh Debian machine first.
PACKAGES := libopenblas-dev libomp-dev zlib1g-dev dataset-fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SWIFT ?= swift

.PHONY: deps build release run test bench clean

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The main job: train smallcnn on Fashion-MNIST (plain training, the erm method) and report.
run: release
	.build/release/tlab train --out runs/main

# `swift build --build-tests` also builds every plugin library, which the tests load with dlopen;
# a bare `swift test` would only build what the test targets link.
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

bench: release
	.build/release/tlab bench --json

clean:
	rm -rf .build
