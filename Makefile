# MeshMart: `make start` runs the system, `make test` runs every test. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NPM_STAMP := node_modules/.meshmart-installed

.PHONY: help install start load chaos observability deploy canary test test-only typecheck lint format bench synth aws-synth policy step-functions api-gateway imports crds images bundles kind-up kind-down chart tools testenv-up testenv-down testenv-status clean

# The variables each target reads from its command line (make load RATE=50). Any other VAR=value stops make before
# it does anything, so that a typo (DURATON=5s) is not silently ignored; MESHMART_* (synthesis settings) go anywhere.
vars.start = TRACES BASE_PORT %_PORT %_URL $(start-settings)
doc.start = TRACES=1, BASE_PORT=<port>, <NAME>_PORT, <NAME>_URL and any service setting (docs/services.md, docs/gateway.md)
vars.load = URL RATE DURATION
vars.chaos = CHECKOUTS KILLS CONCURRENCY RATE SEED ONLY
vars.observability = PROMTOOL
vars.test = TESTENV_%
vars.bench = ARGS BENCH_%
vars.synth = PROFILE CONFIG EXAMPLE
vars.aws-synth = ENV CDK_ARGS
vars.kind-up = DRY_RUN KIND_%
vars.kind-down = DRY_RUN KIND_%
vars.deploy = PROFILE ARGS KUBECONFIG
vars.canary = SERVICE VERSION NAMESPACE ARGS KUBECONFIG PROMETHEUS_URL
vars.testenv-up = TESTENV_%
vars.testenv-down = TESTENV_%
vars.testenv-status = TESTENV_%
# Every upper-case word quoted in the services' sources or the runner: their settings (RATE_LIMIT_USER, DEMO_USERS…).
start-settings = $(shell grep -rhoE "['\`][A-Z][A-Z0-9_]{2,}['\`]" services/*/src scripts/start.ts scripts/system.ts | tr -d "'\`" | sort -u)
comma := ,
goals := $(or $(MAKECMDGOALS),$(.DEFAULT_GOAL))
given := $(foreach v,$(.VARIABLES),$(if $(filter command line,$(origin $(v))),$(v)))
unknown := $(filter-out MESHMART_% $(foreach g,$(goals),$(vars.$(g))),$(given))
ifneq ($(unknown),)
$(error unknown variable$(if $(word 2,$(unknown)),s) $(unknown) for 'make $(goals)': $(foreach g,$(goals),make $(g) takes $(or $(doc.$(g)),$(subst $() ,$(comma) ,$(strip $(vars.$(g)))),no variables);) see make help)
endif
ifneq ($(filter deploy,$(goals)),)
ifeq ($(PROFILE),)
$(error make deploy needs PROFILE: make deploy PROFILE=kind (or eks-appmesh, eks-lattice, migration); it applies dist/<PROFILE>/ as make synth PROFILE=<PROFILE> wrote it)
endif
endif
ifneq ($(filter canary,$(goals)),)
ifeq ($(and $(SERVICE),$(VERSION)),)
$(error make canary needs SERVICE and VERSION: make canary SERVICE=catalog VERSION=v2 (SERVICE: a service of services/catalogue/src/catalogue.ts))
endif
endif

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(NPM_STAMP): package.json package-lock.json $(wildcard services/*/package.json)
	@command -v node >/dev/null || { echo "make: Node.js 20.19+ is required (https://nodejs.org)"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $@

install: $(NPM_STAMP) ## install npm packages (npm ci) when the lockfile changed

start: install ## run the whole system on this machine, no infrastructure needed (TRACES=1: spans to the test Jaeger; BASE_PORT=9080 moves every port)
	npm start -- $(if $(filter-out 0 false no,$(TRACES)),--traces) $(if $(BASE_PORT),--base-port $(BASE_PORT))

load: install ## drive the running system with the shop mix: make load [URL=http://127.0.0.1:8080] [RATE=20] [DURATION=30s]
	npx tsx scripts/load.ts --url $(or $(URL),http://127.0.0.1:8080) --rate $(or $(RATE),20) --duration $(or $(DURATION),30s)

chaos: install ## kill it, restart it: CHECKOUTS (1000) checkouts while services are SIGKILLed KILLS (3) times each and Redis and FerretDB restart, then every invariant; a rolling restart under load (ONLY=crashes,in-place,rolling: which parts; make testenv-up first; docs/reliability.md)
	npx tsx bench/chaos.ts --checkouts $(or $(CHECKOUTS),1000) --kills $(or $(KILLS),3) --concurrency $(or $(CONCURRENCY),12) --rate $(or $(RATE),20) --seed $(or $(SEED),1) --only $(or $(ONLY),crashes$(comma)in-place$(comma)rolling)

PROMTOOL ?= promtool
observability: install ## regenerate Prometheus rules, promtool tests and Grafana dashboards from observability/*.ts, then run promtool
	@command -v $(PROMTOOL) >/dev/null || { echo "make observability: promtool, Prometheus's rule checker, is not installed ($(PROMTOOL) not found). Debian/Ubuntu: sudo apt-get install prometheus (it ships /usr/bin/promtool); make testenv-up installs it too; elsewhere take promtool from a Prometheus release and run make observability PROMTOOL=/path/to/promtool. Without it, npx tsx observability/generate.ts regenerates the files unchecked."; exit 1; }
	npx tsx observability/generate.ts
	cd observability/prometheus/rules && $(PROMTOOL) check rules *.rules.yaml && $(PROMTOOL) test rules *.test.yaml

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
	@if command -v shellcheck >/dev/null; then shellcheck scripts/*.sh scripts/testenv.d/*.sh .ci/run; else echo "lint: shellcheck not installed, skipped (apt-get install shellcheck)"; fi

format: install ## rewrite sources with Prettier
	npx prettier --write .

bench: install ## benchmarks (all, or ARGS='checkout memory'); figures in bench/out/, ARGS=--record writes bench/results/ (BENCHMARKS.md)
	npm run bench -- $(ARGS)

synth: install ## synthesize the Kubernetes profiles into dist/<profile>/ (deterministic): [PROFILE=kind] [CONFIG=my-eks.json] [EXAMPLE=1: EKS profiles with example values, to read]
	npm run synth -- $(if $(PROFILE),--profile $(PROFILE)) $(if $(CONFIG),--config $(CONFIG)) $(if $(filter-out 0 false no,$(EXAMPLE)),--example-values)

api-gateway: install ## the public API as OpenAPI 3.0 for Amazon API Gateway (HTTP API + VPC Link + JWT authorizer; REST variant) in dist/aws/
	npx tsx scripts/api-gateway.ts

step-functions: install ## the checkout saga as an AWS Step Functions state machine (ASL, asl-validator-checked) in dist/aws/
	npx tsx scripts/step-functions.ts

aws-synth: install ## CloudFormation of AWS environment ENV (dev|prod|appmesh|cloudmap|migration; all without ENV) into infra/cdk.out, cdk-nag checked (CDK_ARGS="-c account=... -c region=...")
	cd infra && npx cdk synth --quiet $(if $(ENV),-c env=$(ENV)) $(CDK_ARGS)
	@ls -l infra/cdk.out/*.template.json

policy: install ## validate every profile's objects and run the policy rules (the AWS Config role); exit 1 on a violation
	npx tsx scripts/policy.ts

imports: install ## regenerate cdk8s/imports (typed constructs) from the vendored CRDs, offline
	scripts/cdk8s-imports.sh

crds: ## re-vendor the upstream CRDs from ../shared/crds into cdk8s/crds (byte-for-byte)
	scripts/sync-crds.sh

images: install ## build the one image of every service, meshmart/services:<version> (docker)
	npx tsx scripts/build-images.ts --image

bundles: install ## bundle each service as the image runs it: dist/services/<name>.mjs, with sizes
	npx tsx scripts/build-images.ts

kind-up: install ## kind cluster "meshmart": build + load the image, apply the kind profile, wait, smoke test (DRY_RUN=1 prints)
	scripts/kind-up.sh

kind-down: ## delete the kind cluster
	scripts/kind-down.sh

chart: install ## regenerate the Helm chart charts/meshmart from every profile (synthesized into dist/ first, example values allowed)
	npm run synth -- --example-values
	npx tsx scripts/build-chart.ts

deploy: install ## server-side apply of dist/$(PROFILE)/ exactly as make synth wrote it (kind|eks-appmesh|eks-lattice|migration): CRDs, namespaces, the rest; prune; rollout wait (ARGS="--dry-run [--prerequisites]|--no-wait|--timeout 10m")
	npx tsx ops/deploy.ts --profile $(PROFILE) $(ARGS)

canary: install ## shift SERVICE's traffic to VERSION in steps gated on Prometheus; promote or roll back (NAMESPACE=meshmart, ARGS="--interval 1m --prometheus URL")
	npx tsx ops/canary.ts --service $(SERVICE) --version $(VERSION) --namespace $(or $(NAMESPACE),meshmart) $(ARGS)

tools: install ## kubectl and helm (shipped in node_modules) into ~/.cache/meshmart/bin
	scripts/k8s-tools.sh

testenv-up: ## start (installing/building if missing) Redis, FerretDB, Prometheus and the plug-ins in scripts/testenv.d (kube-apiserver + etcd, Jaeger) on 127.0.0.1
	scripts/testenv.sh up

testenv-down: ## stop the test servers
	scripts/testenv.sh down

testenv-status: ## which test servers answer
	scripts/testenv.sh status

clean: testenv-down ## stop test servers and remove installed packages
	rm -rf node_modules .testenv
