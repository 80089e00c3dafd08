# nixgate — see README.md. `make demo` and `make test` set up everything they need.
GO        ?= go
BIN       := bin/nixgate
export CGO_ENABLED := 0
GOFLAGS_BUILD := -buildvcs=auto -trimpath -ldflags=-s

.PHONY: all build demo test deps vet fmt-check lint-actions bench fuzz docs clean test-boot

all: build

build:
	$(GO) build $(GOFLAGS_BUILD) -o $(BIN) ./cmd/nixgate

# Runs `nixgate check` with the built-in policy on a fresh copy of
# examples/anchor; exits 1 because the example plants problems.
demo: build
	@bash scripts/demo.sh $(BIN)

# Installs what the tests need when missing (Debian packages, when root),
# then vet, the gofmt check and every test.
test: deps vet fmt-check lint-actions
	$(GO) test -count=1 -timeout 20m ./...
	@# The history scan's goroutines (change list, comparer, workers, the
	@# merge-base check) under the race detector: a race there once made a
	@# scan report "context canceled" for an unrelated base.
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 10m -run 'TestHistory|TestDiffer' ./internal/secrets/

# The UKI boot matrix in QEMU (Secure Boot on and off); see docs/uki.md.
test-boot:
	@bash scripts/test-boot.sh

deps:
	@bash scripts/deps.sh

vet:
	$(GO) vet ./...

# actionlint on the composite action and the example workflows (ci/github).
lint-actions:
	@bash scripts/actionlint.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Regenerates docs/checks.md from the registry.
docs:
	$(GO) run ./cmd/nixgate checks --format markdown > docs/checks.md

# Every benchmark, each against its peer tool, in one run; see BENCHMARKS.md.
bench: build
	@bash scripts/deps.sh bench
	@failed=; for b in bench/*.sh; do echo "== $$b"; bash $$b $(BIN) || failed="$$failed $$b"; done; \
	if [ -n "$$failed" ]; then echo "bench: FAILED:$$failed"; exit 1; fi

# Long fuzzing of every parser (FUZZTIME per target).
FUZZTIME ?= 60s
fuzz:
	@bash scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin
