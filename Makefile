# IronLB — the two commands that matter: `make lab` and `make test`. Both install what they need.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)
NODE := $(CURDIR)/.tools/bin/node

.PHONY: help setup lab lab-down lab-status test test-unit test-integration test-e2e lint typecheck format bench k8s images conformance

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

setup: ## install Debian packages, Node.js LTS, npm packages and Kubernetes binaries (idempotent)
	@scripts/setup.sh

k8s: ## build (or reuse) the Kubernetes binaries
	@scripts/build-k8s.sh

images: ## build (or reuse) the container images the lab's nodes run (scripts/build-images.sh)
	@scripts/setup.sh --no-k8s >/dev/null
	@scripts/build-images.sh

lab: setup ## build the local lab (control plane + 3 kubelet/containerd nodes in network namespaces) and leave it running
	@$(NODE) test/lab/cli.ts up

lab-down: ## remove the lab: namespaces, processes, containers, cgroups, node state (whichever checkout started it)
	@scripts/setup.sh --no-k8s >/dev/null
	@$(NODE) test/lab/cli.ts down

lab-status: ## show what the lab is running
	@$(NODE) test/lab/cli.ts status

test: setup ## lint, typecheck, unit, integration and end-to-end tests
	@scripts/test.sh

test-unit: ## unit tests only (seconds)
	@scripts/setup.sh --no-k8s >/dev/null
	@npx vitest run --project unit

lint: ## eslint and prettier
	@npx eslint . && npx prettier --check . >/dev/null

typecheck: ## tsc --noEmit
	@npx tsc -p tsconfig.json --noEmit

format: ## prettier --write
	@npx prettier --write . >/dev/null

bench: setup ## benchmarks (print figures; never pass/fail on time)
	@scripts/bench.sh

conformance: ## Gateway API conformance suite (GATEWAY-HTTP, GATEWAY-GRPC, GATEWAY-TLS + claimed features) against the running lab; report in .lab/
	@scripts/setup.sh --no-k8s >/dev/null
	@scripts/conformance.sh
