# Stargate — the two commands a fresh machine needs:
#   make run    build (release) and start the portal at http://127.0.0.1:3000 with demo data
#   make test   unit, integration (SQLite + PostgreSQL) and browser tests
# Each installs what it needs when missing, so a second run starts in seconds.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO_LEPTOS_VERSION := 0.3.10
# The test runner; newer releases may need a newer rustc than the machine's 1.95.
NEXTEST_VERSION := 0.9.143
# wasm-bindgen on PATH must match the crate in Cargo.lock exactly.
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;q}' Cargo.lock)
# Builds land here; CI keeps it outside the clone (CARGO_TARGET_DIR) to stay incremental.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# wasm-opt for the release bundle: binaryen's npm build, pinned in tools/binaryen. Debian's
# binaryen (108) breaks wasm-bindgen 0.2.130's function table and the bundle never hydrates;
# cargo-leptos takes the first wasm-opt on PATH, so ours goes first. `--split` cuts each lazy
# island (`#[island(lazy)]`) into its own wasm files, loaded only by the pages that show it.
WASM_OPT_BIN := $(CURDIR)/tools/binaryen/node_modules/.bin
RELEASE_BUILD := PATH="$(WASM_OPT_BIN):$$PATH" cargo leptos build --release --split
# Then the bundle is compressed once at the highest levels (brotli 11, gzip 9), which the
# server sends instead of compressing on the fly (about a fifth fewer bytes).
PRECOMPRESS := node tools/precompress.mjs target/site/pkg

.PHONY: help run test build image tools test-tools browser-tools wasm-opt lint clean

help:
	@echo "make run    start the portal at http://127.0.0.1:3000 (SQLite, demo data)"
	@echo "make test   run every test: unit, integration (SQLite and PostgreSQL), browser"
	@echo "make lint   cargo fmt --check and clippy -D warnings"
	@echo "make image  build the OCI image (target/image) without a container engine"

# Rust-side tools: wasm target, cargo-leptos, wasm-bindgen-cli (versions pinned).
tools:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
	  || rustup target add wasm32-unknown-unknown
	@cargo leptos --version 2>/dev/null | grep -qx "cargo-leptos $(CARGO_LEPTOS_VERSION)" \
	  || cargo install cargo-leptos --version $(CARGO_LEPTOS_VERSION) --locked
	@wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $(WASM_BINDGEN_VERSION)" \
	  || cargo install wasm-bindgen-cli --version "=$(WASM_BINDGEN_VERSION)"

wasm-opt:
	@cd tools/binaryen && { [ -x node_modules/.bin/wasm-opt ] && npm ls --silent >/dev/null 2>&1; } \
	  || npm ci --no-audit --no-fund
	@"$(WASM_OPT_BIN)/wasm-opt" --version | grep -q "version 132" \
	  || { echo "tools/binaryen: expected wasm-opt 132" >&2; exit 1; }

# Only `make test` needs the test runner.
test-tools:
	@cargo nextest --version >/dev/null 2>&1 \
	  || cargo install cargo-nextest --version $(NEXTEST_VERSION) --locked

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

# Test peers: Debian's Chromium, the end2end npm packages (no browser download) and the
# OIDC provider the sign-in tests run against.
browser-tools:
	$(call apt_install,chromium)
	@cd end2end && { [ -d node_modules/@playwright/test ] && npm ls --silent >/dev/null 2>&1; } \
	  || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@cd testing/oidc-provider && { [ -d node_modules/oidc-provider ] && npm ls --silent >/dev/null 2>&1; } \
	  || npm ci --no-audit --no-fund

build: tools
	cargo leptos build --split

run: tools wasm-opt
	$(RELEASE_BUILD)
	$(PRECOMPRESS)
	STARGATE_AUTH__MODE=dev "$(TARGET_DIR)/release/stargate" serve --demo

# One server build serves all tests: nextest builds the `stargate` binary for the CLI tests
# and Playwright starts that same binary. The browser loads the release bundle built exactly
# as `make run` builds it, so a bundle that only works in debug fails here.
test: tools test-tools browser-tools wasm-opt
	$(call apt_install,umoci curl git ca-certificates)
	@command -v kubectl >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends kubernetes-client; }
	$(RELEASE_BUILD) --frontend-only
	$(PRECOMPRESS)
	cargo nextest run --workspace --no-fail-fast
	@# A copy: another build sharing the target directory must not swap the binary mid-run.
	mkdir -p "$(TARGET_DIR)/tested" && cp "$(TARGET_DIR)/debug/stargate" "$(TARGET_DIR)/tested/stargate"
	bash testing/image.sh "$(TARGET_DIR)/tested/stargate"
	STARGATE_BIN="$(TARGET_DIR)/tested/stargate" bash testing/schemathesis.sh
	cd end2end && STARGATE_BIN="$(TARGET_DIR)/tested/stargate" npx playwright test

# The release binary and site bundle in an OCI image, by umoci (no daemon): target/image.
image: tools wasm-opt
	$(call apt_install,umoci git ca-certificates)
	$(RELEASE_BUILD)
	$(PRECOMPRESS)
	$(SUDO) bash deploy/image/build.sh "$(TARGET_DIR)/release/stargate" target/site target/image

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results tools/binaryen/node_modules
