# authgate build, run, test and benchmark targets.
#   make -f xcaddy.mk run     build bin/caddy and run ./Caddyfile (the demo)
#   make -f xcaddy.mk test    install what the tests need, then run every test
#   make -f xcaddy.mk bench   Go benchmarks, then wrk (plain, header_up, authgate, forward_auth): writes BENCHMARKS.md
#   make -f xcaddy.mk soak    build bin/caddy, then the many-instance and fault suites (soak/)

CADDY_VERSION  ?= v2.11.9
XCADDY_VERSION ?= v0.4.5
MAILPIT_VERSION ?= v1.33.1
GOCYCLO_VERSION ?= v0.6.0
# The @clerk/clerk-js release the clerk-js tests run is pinned, with all
# of its dependencies, by handlers/testdata/clerkjs/package-lock.json
# (handlers/clerkjs_test.go, clerkJSVersion, says the same release) and
# installed with `npm ci` into .cache/clerkjs.
CLERKJS_SRC     := $(CURDIR)/handlers/testdata/clerkjs
CLERKJS_DIR     := $(CURDIR)/.cache/clerkjs
CLERK_JS_BUNDLE := $(CLERKJS_DIR)/node_modules/@clerk/clerk-js/dist/clerk.browser.js
# The Express app of the @clerk/express test (caddymodule/clerk_express_test.go)
# is installed with `npm ci` from its lock file (exact versions, checked
# integrity) into .cache/clerkexpress; the test finds the packages
# through CLERK_EXPRESS_MODULES.
CLERKEXPRESS_SRC     := $(CURDIR)/caddymodule/testdata/clerkexpress
CLERKEXPRESS_DIR     := $(CURDIR)/.cache/clerkexpress
CLERK_EXPRESS_MODULES := $(CLERKEXPRESS_DIR)/node_modules
GOBIN          := $(shell go env GOPATH)/bin
SUDO           := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export PATH    := $(GOBIN):$(PATH)

.PHONY: build xcaddy run test deps bench vet soak

build:
	go build -o bin/caddy ./cmd/caddy

xcaddy:
	@command -v xcaddy >/dev/null || go install github.com/caddyserver/xcaddy/cmd/xcaddy@$(XCADDY_VERSION)
	xcaddy build $(CADDY_VERSION) --output bin/caddy --with github.com/authgate/authgate@v0.0.0=./

run: build
	mkdir -p data
	bin/caddy run --config Caddyfile

# deps installs the real servers the tests use: redis-server and chromium
# from Debian's packages, mailpit from the Go module proxy, clerk-js
# (its browser bundle, for the test that runs Clerk's own client code)
# from its lock file into .cache/clerkjs, and the Express app's
# packages (@clerk/express, for the test of Clerk's backend SDK behind
# the gate) from its lock file into .cache/clerkexpress, both without
# install scripts.
deps:
	@missing=""; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@command -v mailpit >/dev/null || go install github.com/axllent/mailpit@$(MAILPIT_VERSION)
	@cmp -s $(CLERKJS_SRC)/package-lock.json $(CLERKJS_DIR)/package-lock.json && \
		test -f $(CLERK_JS_BUNDLE) || { \
		rm -rf $(CLERKJS_DIR) && mkdir -p $(CLERKJS_DIR) && \
		cp $(CLERKJS_SRC)/package.json $(CLERKJS_SRC)/package-lock.json $(CLERKJS_DIR)/ && \
		npm ci --prefix $(CLERKJS_DIR) --ignore-scripts --no-audit --no-fund; }
	@cmp -s $(CLERKEXPRESS_SRC)/package-lock.json $(CLERKEXPRESS_DIR)/package-lock.json && \
		test -f $(CLERK_EXPRESS_MODULES)/@clerk/express/package.json || { \
		mkdir -p $(CLERKEXPRESS_DIR) && \
		cp $(CLERKEXPRESS_SRC)/package.json $(CLERKEXPRESS_SRC)/package-lock.json $(CLERKEXPRESS_DIR)/ && \
		npm ci --prefix $(CLERKEXPRESS_DIR) --ignore-scripts --no-audit --no-fund; }

vet:
	@command -v gocyclo >/dev/null || go install github.com/fzipp/gocyclo/cmd/gocyclo@$(GOCYCLO_VERSION)
	@out="$$(gocyclo -over 25 $$(git ls-files '*.go' | grep -v '_test.go$$'))"; test -z "$$out" || { echo "$$out"; echo "functions over cyclomatic complexity 25"; exit 1; }
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	go vet ./...

test: deps vet
	CLERK_JS_BUNDLE=$(CLERK_JS_BUNDLE) CLERK_EXPRESS_MODULES=$(CLERK_EXPRESS_MODULES) go test -count=1 -timeout 20m ./...

# bench runs every benchmark once (about 6 minutes) and writes
# BENCHMARKS.md from it: scripts/bench-report.sh (Go micro-benchmarks,
# then scripts/bench-gate.sh under wrk).
bench: deps build
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk; }
	scripts/bench-report.sh bin/caddy BENCHMARKS.md

# soak runs the many-instance and fault suites in soak/ (build tag soak):
# real bin/caddy processes, redis-server (also as a Sentinel, through
# `redis-server --sentinel`, so no redis-sentinel binary is needed) on
# loopback, bounded loads. It needs redis-server only.
soak: build
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server; }
	@test -z "$$(gofmt -l soak)" || { gofmt -l soak; echo "gofmt needed"; exit 1; }
	go vet -tags soak ./soak/
	AUTHGATE_CADDY_BIN=$(CURDIR)/bin/caddy go test -tags soak -count=1 -timeout 25m -v ./soak/

# fuzz runs each go test -fuzz target for FUZZTIME (about 3 minutes in
# all on 2 cores with a warm build cache), after its seed corpus and
# testdata/fuzz/<target>/; -fuzz takes one target of one package per run.
# FUZZTIME is a count of executions, not a duration: with a duration, Go
# 1.26's fuzz coordinator can fail a target with a bare "context deadline
# exceeded" and no crasher when a loaded machine starves a worker at the
# deadline (go.dev/issue/75804, fixed in Go 1.27); a count has no
# deadline to race. One line per target, <package>:<Fuzz function>; a Fuzz
# function missing here fails the run, and so does a line naming none (go
# test -fuzz would pass it with "no fuzz tests to fuzz").
FUZZTIME ?= 30000x
FUZZ_TARGETS := \
	./token:FuzzVerify \
	./token:FuzzParseJWT \
	./handlers:FuzzReadParamsModel \
	./handlers:FuzzSafeRedirect \
	./users:FuzzIdentifier \
	./caddymodule:FuzzCaddyfile \
	./caddymodule:FuzzCaddyfileSecret \
	./store/redis:FuzzParseURL \
	./password:FuzzDigest \
	./password/breach:FuzzOpenIndex \
	./password/breach:FuzzBuildIndex \
	./password/breach:FuzzParseRange \
	./internal/seal:FuzzOpen \
	./internal/seal:FuzzParseKey

.PHONY: fuzz
fuzz:
	@files=$$(go list -f '{{$$d := .Dir}}{{range .TestGoFiles}}{{$$d}}/{{.}} {{end}}{{range .XTestGoFiles}}{{$$d}}/{{.}} {{end}}' ./...); \
	missing=$$(grep -hoE '^func Fuzz[A-Za-z0-9_]+' $$files | sed 's/^func //' | while read -r f; do \
		case " $(FUZZ_TARGETS) " in *":$$f "*) ;; *) echo "$$f";; esac; done); \
	test -z "$$missing" || { echo "fuzz targets missing from FUZZ_TARGETS in xcaddy.mk:" $$missing; exit 1; }
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		grep -qE "^func $$name\(" $$pkg/*_test.go || { echo "FUZZ_TARGETS in xcaddy.mk names $$name, which $$pkg does not have"; exit 1; }; \
		echo "== $$name ($$pkg, $(FUZZTIME))"; \
		go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done
