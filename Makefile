# cosi-seaweedfs — run `make help` for the targets.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

TOOLS := weed etcd kube-apiserver objectstorage-sidecar helm chainsaw
# The single-node cluster of `make test-pods` (test/node): the same
# k8s.io/kubernetes pin as kube-apiserver, and CoreDNS.
NODE_TOOLS := kubelet kube-controller-manager kube-scheduler kube-proxy coredns kubectl
# What `make demo` runs: no helm (it installs the chart's RBAC as rendered
# into test/e2e/framework/chart-rbac-local.yaml), no chainsaw.
DEMO_TOOLS := weed etcd kube-apiserver objectstorage-sidecar
GO_TEST_FLAGS ?= -count=1 -timeout 40m

# The version stamped into the binary (--version, the start-up log, the log of
# each DriverGetInfo) and the image tag.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/cosi-seaweedfs/cosi-seaweedfs/version.Version=$(VERSION)
OUT ?= bin/cosi-seaweedfs

# The chart's RBAC as the demo installs it: release and namespace
# cosi-seaweedfs, the default driver name, the sidecar v0.1.0 it runs.
CHART_RBAC_LOCAL_ARGS := cosi-seaweedfs charts/cosi-seaweedfs --namespace cosi-seaweedfs --kube-version 1.34.3 \
	--set sidecar.rbac=v0.1,sidecar.image.tag=v0.1.0 \
	--show-only templates/serviceaccount.yaml --show-only templates/rbac.yaml

# make image: the first of CONTAINER_TOOLS found on PATH builds IMAGE:VERSION
# (or set CONTAINER_TOOL); PLATFORM, e.g. linux/arm64, builds for another one.
IMAGE ?= ghcr.io/cosi-seaweedfs/cosi-seaweedfs
CONTAINER_TOOLS ?= docker podman buildah
CONTAINER_TOOL ?= $(firstword $(foreach t,$(CONTAINER_TOOLS),$(shell command -v $(t) 2>/dev/null)))
PLATFORM ?=
# Where make image-archive (and make image without a builder) writes the image.
IMAGE_ARCHIVE ?= bin/images/cosi-seaweedfs.tar

.PHONY: help
help: ## Show this help.
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'

.PHONY: build
build: ## Build the driver into bin/cosi-seaweedfs, VERSION stamped in.
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o $(OUT) ./cmd/cosi-seaweedfs

.PHONY: build-crashpoints
build-crashpoints: ## Build the test binary with crash points (package crashpoint) into bin/cosi-seaweedfs-crashpoints.
	CGO_ENABLED=0 go build -trimpath -tags crashpoints -ldflags "$(LDFLAGS)" -o bin/cosi-seaweedfs-crashpoints ./cmd/cosi-seaweedfs

.PHONY: image
image: ## Build the driver image IMAGE:VERSION with docker, podman or buildah; with none of them, into the archive IMAGE_ARCHIVE (make image-archive).
	@if [ -z "$(CONTAINER_TOOL)" ]; then \
		echo "make image: no container builder found (looked for: $(CONTAINER_TOOLS)): building $(IMAGE):$(VERSION) without one into $(IMAGE_ARCHIVE)"; \
		$(MAKE) --no-print-directory image-archive; \
	elif [ "$$(basename $(CONTAINER_TOOL))" = docker ] && ! $(CONTAINER_TOOL) info >/dev/null 2>&1; then \
		echo "make image: docker is installed but no Docker engine answers (docker info): building $(IMAGE):$(VERSION) without one into $(IMAGE_ARCHIVE)"; \
		$(MAKE) --no-print-directory image-archive; \
	else \
		$(CONTAINER_TOOL) build $(if $(PLATFORM),--platform $(PLATFORM)) \
			--build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
			-t $(IMAGE):$(VERSION) -f Dockerfile . ; \
	fi

.PHONY: image-archive
image-archive: ## Build the driver image without a container engine, from the Dockerfile's stages, into IMAGE_ARCHIVE: an OCI archive for ctr images import, docker load and kind load image-archive.
	go run ./test/image/build -f Dockerfile -ref $(IMAGE):$(VERSION) -version $(VERSION) -revision $(REVISION) \
		-platform $(or $(PLATFORM),linux/$(shell go env GOARCH)) -o $(IMAGE_ARCHIVE)

.PHONY: tools
tools: ## Build the pinned real components (test/tools/*) into bin/; only changed pins are rebuilt. Installs containerd, runc and the CNI plugins when missing (root, apt-get).
	@for t in $(TOOLS) $(NODE_TOOLS); do test/tools/build.sh $$t || exit 1; done
	@# Only the node of test-pods needs the packages; everything else runs
	@# without them, so their absence is said, not fatal, here.
	@test/tools/node-packages.sh || echo "make tools: containerd, runc or the CNI plugins are missing; make test-pods needs them" >&2

.PHONY: node-packages
node-packages:
	@test/tools/node-packages.sh

# The tests that need no external process: every package whose tests do not
# start the local stack or the real node, and the stack-free tests of the two
# packages that have both kinds (their stack-backed tests are named in
# UNIT_SKIP).
UNIT_PKGS = $(shell go list -f '{{.ImportPath}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}' ./... \
	| grep -v -e '/test/stack$$' -e '/test/stack ' -e '/test/node$$' -e '/test/node ' -e '/test/e2e/framework' -e '/test/s3check' | cut -d' ' -f1) \
	./cmd/cosi-seaweedfs/app ./crashpoint
UNIT_SKIP := ^(TestFilerMutualTLS|TestFilerJWTAtStart|TestCheckAgainstSeaweedFS|TestOnlyTheTestBuildCarriesCrashPoints)$$

.PHONY: unit
unit: ## Run the tests that need no external process (planners, engine on the fake, reconcile, store, gRPC handlers); no bin/ needed.
	go test -count=1 -timeout 5m -skip '$(UNIT_SKIP)' $(UNIT_PKGS)

.PHONY: test
test: tools build build-crashpoints ## Build the tools and the driver if needed and run every test: the real local stack, the resilience suite, then the real node (make test-pods, root).
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v -e '/test/resilience$$' -e '/test/node$$' -e '/test/pods$$')
	@# The resilience suite and the real node last and verbose: their
	@# summaries are the point of them.
	$(MAKE) --no-print-directory test-resilience
	$(MAKE) --no-print-directory test-pods

.PHONY: test-resilience
test-resilience: tools build-crashpoints ## Crash the driver at every crash point, kill it at random (COSI_RESILIENCE_SEED replays, COSI_RESILIENCE_SEEDS=n runs more), stop SeaweedFS and the Kubernetes API, hand the Lease over; check nothing is lost.
	go test -count=1 -timeout 40m -v ./test/resilience/

.PHONY: test-pods
test-pods: tools node-packages ## As root: start a real single-node cluster (kubelet, containerd, CoreDNS in a network namespace of its own) and check it leaves nothing; install the chart with helm --wait, run helm test, the COSI flow from workload pods and the recovery cases.
	go test -count=1 -p 1 -timeout 30m -v ./test/node/ ./test/pods/

.PHONY: bench
bench: tools build ## Run the benchmarks: grants, revokes and resync at 0-5000 realistic users (COSI_BENCH_USERS); driver call latency; drift repair time; restart after a crash; 200 grants at once (COSI_BENCH_BURST).
	go test -run '^$$' -bench '^BenchmarkScale$$' -benchtime 1x -timeout 60m ./test/scale/
	COSI_USER_PATHS=iam go test -run '^$$' -bench 'Lifecycle|DriftRepair|RestartAfterKill' -benchtime 3x -timeout 30m ./test/conformance/
	COSI_USER_PATHS=iam COSI_BENCH_BURST_FILER=$${COSI_BENCH_BURST_FILER:-1} go test -run '^$$' -bench 'GrantBurst' -benchtime 1x -timeout 30m ./test/conformance/

.PHONY: generate
generate: ## Generate the Go types and gRPC clients of the filer's messages (s3admin/filergrpc/{filerpb,iampb,s3pb}) from the .proto files of the SeaweedFS that test/tools/weed pins; installs protoc when missing (root, apt-get).
	s3admin/filergrpc/generate.sh

.PHONY: lint
lint: ## gofmt, go vet, golangci-lint (.golangci.yml), go mod tidy, generated code current (make generate), and actionlint on the GitHub Actions workflows.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet ./...
	@test/tools/build.sh golangci-lint
	bin/golangci-lint run ./...
	@go mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy; it would change:"; go mod tidy -diff; exit 1; }
	@# Only the version of protoc named in the headers may differ: another
	@# distribution's protoc generates the same code.
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && s3admin/filergrpc/generate.sh "$$tmp" && \
		for d in filerpb iampb s3pb; do \
			diff -r -I '^// .*protoc  *v[0-9]' "$$tmp/$$d" s3admin/filergrpc/$$d || { echo "generated code is not current: run make generate"; exit 1; }; \
		done
	@test/tools/build.sh actionlint
	bin/actionlint -no-color .github/workflows/*.yaml

.PHONY: demo
demo: build ## Run the driver and the COSI sidecar on a local real stack and provision one bucket end to end.
	@for t in $(DEMO_TOOLS); do test/tools/build.sh $$t || exit 1; done
	go run ./test/demo up

.PHONY: chart-rbac-local
chart-rbac-local: ## Render the chart's RBAC for the local processes again (test/chart checks it is current).
	@test/tools/build.sh helm
	bin/helm template $(CHART_RBAC_LOCAL_ARGS) > test/e2e/framework/chart-rbac-local.yaml

.PHONY: demo-down
demo-down: ## Stop the stack started by `make demo`.
	go run ./test/demo down

.PHONY: clean
clean: ## Remove built binaries and tool stamps.
	rm -rf bin/
