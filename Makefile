# staffsync — build, run, test and deploy. `make run` and `make test` are the two commands a
# fresh machine needs; SAM calls the build-<LogicalId> targets (BuildMethod: makefile).

SHELL := /bin/bash
GO ?= go
# Pinned aws-lambda-rie (the Lambda Runtime Interface Emulator) used by the runtime tests.
RIE_VERSION := v0.0.0-20261030222936-bef5c4ba774d
BIN := $(CURDIR)/bin
RIE := $(BIN)/aws-lambda-rie
# Flags of the SAM makefile contract: a static, stripped bootstrap without the RPC shim.
LAMBDA_BUILD := CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w"
# Every function's logical id in template.yaml; `make build` builds them all.
FUNCTIONS := ApiFunction DispatchFunction UsersyncFunction WorkspacesyncFunction TimesyncFunction AbsencesyncFunction
ENV ?= default

.PHONY: all build run test test-go test-short tools lint bench deploy clean $(addprefix build-,$(FUNCTIONS))

all: build

# ---------------------------------------------------------------- build (linux/arm64)
# Where `make build` puts build/<LogicalId>/bootstrap (SAM passes ARTIFACTS_DIR itself).
BUILD_DIR ?= $(CURDIR)/build

build:
	@for f in $(FUNCTIONS); do $(MAKE) --no-print-directory build-$$f ARTIFACTS_DIR=$(BUILD_DIR)/$$f || exit 1; echo "built $(BUILD_DIR)/$$f/bootstrap"; done

build-ApiFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/api

build-DispatchFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/dispatch

build-UsersyncFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/usersync

build-WorkspacesyncFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/workspacesync

build-TimesyncFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/timesync

build-AbsencesyncFunction:
	$(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/absencesync

# ---------------------------------------------------------------- run locally
# run builds the runner first and execs it, so Ctrl-C reaches it directly and a clean stop
# exits 0 (go run would report exit status 1). It keeps its state in .staffsync/ across
# restarts; FRESH=1 discards it and starts anew.
FRESH ?=
run:
	@$(GO) build -o $(BIN)/staffsync ./cmd/staffsync
	@exec $(BIN)/staffsync dev $(if $(filter-out 0,$(FRESH)),--fresh)

# ---------------------------------------------------------------- test
# tools installs what the tests need and checks for what cannot be installed with go.
tools:
	@$(GO) mod download
	@if [ ! -x "$(RIE)" ]; then echo "installing aws-lambda-rie $(RIE_VERSION) into bin/"; \
	  GOBIN=$(BIN) $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION); fi
	@command -v moto_server >/dev/null || { echo "moto_server is missing: install it with pip install 'moto[server]>=5,<6' (the store, bus and dispatch tests run against it)"; exit 1; }
	@command -v cfn-lint >/dev/null || { echo "cfn-lint is missing: install it with pip install cfn-lint (it validates template.yaml)"; exit 1; }
	@[ -x /usr/bin/chromium ] || [ -n "$$STAFFSYNC_CHROMIUM" ] || { echo "installing chromium (the console's browser tests)"; apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || { echo "chromium is missing and could not be installed: run apt-get install chromium as root (Debian), or set STAFFSYNC_CHROMIUM to a Chromium binary"; exit 1; }

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	cfn-lint template.yaml

test: tools lint test-go

# The full suite runs with the race detector (about four minutes on two cores, against three
# without); make test GOTESTFLAGS= runs it without.
GOTESTFLAGS ?= -race
test-go:
	STAFFSYNC_RIE=$(RIE) $(GO) test $(GOTESTFLAGS) -count=1 -timeout 30m ./...

# test-short is the fast lane: the unit and planner tests with the race detector (under a
# minute once the race build is cached). Under -short the test helpers skip what starts
# a simulator world, moto_server or aws-lambda-rie (awstest.LongLane), which leaves the
# end-to-end, fault-injection and runtime tests to make test; functions/ holds only those.
test-short:
	$(GO) test -short -race -count=1 -timeout 10m ./internal/...

# bench runs internal/bench: one BENCH line per scenario (the real phases against the
# simulators, 20 ms a call, the documented limits scaled per scenario; README "Benchmarks")
# and one FUNCTION line per function (its arm64 bootstrap from make build, its init under
# aws-lambda-rie). The whole output is in bin/bench.log. The micro-benchmarks of single
# packages stay where they are: go test -run '^$$' -bench . ./internal/<package>/.
bench:
	@[ -x "$(RIE)" ] || $(MAKE) --no-print-directory tools
	@$(MAKE) --no-print-directory -s build >/dev/null
	@set -o pipefail; STAFFSYNC_RIE=$(RIE) STAFFSYNC_BUILD_DIR=$(BUILD_DIR) STAFFSYNC_FUNCTIONS="$(FUNCTIONS)" \
	  $(GO) test -count=1 -run '^$$' -bench '^Benchmark(Scenarios|Functions)$$' -benchtime 1x -timeout 15m ./internal/bench/ 2>&1 \
	  | tee $(BIN)/bench.log | grep --line-buffered -E '^(BENCH|FUNCTION) ' \
	  || { echo "make bench failed; the end of bin/bench.log:"; tail -40 $(BIN)/bench.log; exit 1; }

# ---------------------------------------------------------------- deploy (needs the sam CLI)
deploy:
	sam build --parallel && sam deploy --config-env $(ENV)

# invoke-<LogicalId> runs one function with sam local invoke and its first events/ file
# (or EVENT=events/<file>.json).
invoke-%:
	sam build $* && sam local invoke $* -e $(or $(EVENT),$(firstword $(wildcard events/$*-*.json)))

clean:
	rm -rf build bin .aws-sam
