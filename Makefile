# cosi-seaweedfs — run `make help` for the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

TOOLS := weed etcd kube-apiserver objectstorage-sidecar helm chainsaw
GO_TEST_FLAGS ?= -count=1 -timeout 40m

.PHONY: help
help: ## Show this help.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the driver into bin/cosi-seaweedfs.
	CGO_ENABLED=0 go build -trimpath -o bin/cosi-seaweedfs ./cmd/cosi-seaweedfs

.PHONY: tools
tools: ## Build the pinned real components (test/tools/*) into bin/; only changed pins are rebuilt.
	@for t in $(TOOLS); do test/tools/build.sh $$t || exit 1; done

.PHONY: test
test: tools build ## Build the tools and the driver if needed and run every test against the real local stack.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: tools ## Run the benchmarks: grants, revokes and resync at 0-5000 realistic users (COSI_BENCH_USERS); driver call latency; drift repair time.
	go test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 60m ./s3admin/
	go test -run '^$$' -bench . -benchtime 3x -timeout 30m ./test/conformance/

.PHONY: lint
lint: ## gofmt and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...

.PHONY: demo
demo: tools build ## Run the driver and the COSI sidecar on a local real stack and provision one bucket end to end.
	go run ./test/demo up

.PHONY: demo-down
demo-down: ## Stop the stack started by `make demo`.
	go run ./test/demo down

.PHONY: clean
clean: ## Remove built binaries and tool stamps.
	rm -rf bin/
