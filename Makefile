# mlops-operator — developer entry points. `make help` lists them.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

BUILD_DIR ?= build
JOBS ?= 2
CLUSTER_ENV := .cluster/env
# Compiled objects are cached outside the clone (like the plane's tools);
# BASEDIR makes the cache hit from any clone's path.
MLOPS_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mlops-operator
export CCACHE_DIR ?= $(MLOPS_CACHE)/ccache
export CCACHE_BASEDIR := $(CURDIR)
# With -g ccache hashes the build directory too; a clone elsewhere would miss.
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 4G

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	  /^[a-zA-Z_-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } \
	  /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: deps
deps: ## Install the Debian packages the build and tests need (idempotent).
	@hack/install-deps.sh

.PHONY: tools
tools: ## Build the control plane's binaries once, cached by version outside the clone.
	@hack/build-tools.sh

.PHONY: build
build: deps ## Build build/mlops-operator and the tests.
	@cmake -S . -B $(BUILD_DIR) -G Ninja >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

.PHONY: test
test: deps ## Install what is missing, build, and run unit, integration and end-to-end tests.
	@hack/test.sh

.PHONY: test-unit
test-unit: build ## Run the unit tests only (no cluster needed).
	@ctest --test-dir $(BUILD_DIR) -L unit --output-on-failure -j $(JOBS)

.PHONY: test-sanitize
test-sanitize: deps ## Unit and integration tests under ASan+UBSan and under TSan (build-asan/, build-tsan/).
	@hack/test-sanitize.sh

FUZZ_SECONDS ?= 300
.PHONY: fuzz
fuzz: deps ## Run each libFuzzer target (fuzz/) for FUZZ_SECONDS (300) from its seed corpus.
	@FUZZ_SECONDS=$(FUZZ_SECONDS) hack/fuzz.sh

.PHONY: lint
lint: ## clang-format check and clang-tidy.
	@hack/lint.sh

.PHONY: demo
demo: deps ## The whole loop on the local control plane, with progress output.
	@hack/demo.sh

##@ Benchmark

N ?= 1000
M ?= 10
K ?= 10
.PHONY: bench
bench: deps ## mlops-operator vs a controller-runtime operator vs the plane's floor: N runs over M models, K namespaces (bench/README.md).
	@N=$(N) M=$(M) K=$(K) BUILD_DIR=$(BUILD_DIR) hack/bench.sh

##@ Local control plane

.PHONY: cluster-up
cluster-up: deps tools ## Start (or reuse) the local control plane; writes .cluster/env.
	@hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local control plane; leaves no process behind.
	@hack/cluster-down.sh

##@ Deployment

.PHONY: install
install: ## Install the CRDs into the cluster of the current KUBECONFIG.
	@kubectl apply -f crds/

.PHONY: deploy
deploy: ## Install everything in deploy/ into the cluster of the current KUBECONFIG.
	@kubectl apply -k deploy/

.PHONY: run
run: build ## Run the operator from build/ against the current KUBECONFIG.
	@$(BUILD_DIR)/mlops-operator --log-format=text

.PHONY: clean
clean: ## Remove the build trees (the tool cache outside the clone stays).
	@rm -rf $(BUILD_DIR) $(BUILD_DIR)-lint build-asan build-tsan build-fuzz
