# MeshMart: `make start` runs the system, `make test` runs every test. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.meshmart-installed

.PHONY: help install start test test-only typecheck lint format bench synth policy testenv-up testenv-down testenv-status clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json $(wildcard services/*/package.json)
	@command -v node >/dev/null || { echo "make: Node.js 20.19+ is required (https://nodejs.org)"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP) ## install npm packages (npm ci) when the lockfile changed

start: install ## run the whole system on this machine, no infrastructure needed
	npm start

test: install testenv-up ## install everything the tests need, start the real test servers, type-check and run every test
	npm run typecheck
	npm test

test-only: ## run the tests against an already running test environment
	npm test

typecheck: install ## TypeScript, strict
	npm run typecheck

lint: install ## ESLint (type-checked rules), Prettier, TypeScript, shellcheck
	npx eslint .
	npx prettier --check .
	npm run typecheck
	@if command -v shellcheck >/dev/null; then shellcheck scripts/*.sh .ci/run; else echo "lint: shellcheck not installed, skipped (apt-get install shellcheck)"; fi

format: install ## rewrite sources with Prettier
	npx prettier --write .

bench: install ## benchmarks; figures are written to bench/results/ and BENCHMARKS.md explains them
	npm run bench

synth: install ## synthesize every Kubernetes profile into dist/<profile>/ (deterministic)
	npm run synth

policy: install ## validate every profile's objects and run the policy rules (the AWS Config role); exit 1 on a violation
	npx tsx scripts/policy.ts

testenv-up: ## start (installing/building if missing) Redis, FerretDB and Prometheus on 127.0.0.1
	scripts/testenv.sh up

testenv-down: ## stop the test servers
	scripts/testenv.sh down

testenv-status: ## which test servers answer
	scripts/testenv.sh status

clean: testenv-down ## stop test servers and remove installed packages
	rm -rf node_modules .testenv
