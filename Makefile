# Cadre — the two commands: `make demo` and `make test`. See README.md.
.PHONY: all deps test-deps build demo test test-release test-asan test-clang test-cross check-banned check-layers bench bench-ws bench-jobs bench-scale-out fuzz install clean

BUILD      ?= build
ASAN_BUILD ?= build-asan
CLANG_BUILD ?= build-clang
FUZZ_BUILD ?= build-fuzz
PORT       ?= 8000
FUZZ_SECONDS ?= 60
SHARED     ?= ../shared
BENCH_ENDPOINTS ?= plaintext,json,echo
# what the bench app serves (bench/endpoints, run-peers' endpoints-file format), as one list
BENCH_CMD_ENDPOINTS := $(shell tr -s ' \n' ',,' < bench/endpoints | sed 's/,$$//')

all: build

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Builds, migrates and runs the example product (examples/product) on SQLite at
# http://127.0.0.1:$(PORT) (Ctrl-C stops it). DEMO_DATABASE_URL picks another database.
DEMO_DATABASE_URL ?= sqlite://$(BUILD)/demo.db
# /docs and /redoc serve their scripts from tests/js's npm packages when they are there.
DOCS_ASSETS := tests/js/node_modules
demo: build
	@scripts/install-deps --demo
	CADRE_DATABASE_URL='$(DEMO_DATABASE_URL)' $(BUILD)/examples/product/inventory migrate
	CADRE_DATABASE_URL='$(DEMO_DATABASE_URL)' $(BUILD)/examples/product/inventory demo --dev
	@echo "Cadre demo: the inventory on http://127.0.0.1:$(PORT)/ (log in as admin or clerk, above), its admin on /admin/, its API on /docs (Ctrl-C to stop)"
	@echo "  TOKEN=\$$(CADRE_DATABASE_URL='$(DEMO_DATABASE_URL)' $(BUILD)/examples/product/inventory createtoken clerk curl)"
	@echo "  curl -H \"Authorization: Bearer \$$TOKEN\" 'localhost:$(PORT)/api/products?price__lt=10&ordering=-price'"
	CADRE_DATABASE_URL='$(DEMO_DATABASE_URL)' \
	  CADRE_DOCS_ASSETS=$$([ -d $(DOCS_ASSETS)/swagger-ui-dist ] && echo $(DOCS_ASSETS)) \
	  $(BUILD)/examples/product/inventory serve --port $(PORT)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debugoptimized -Db_sanitize=address,undefined -Db_lundef=false

$(CLANG_BUILD)/build.ninja:
	CC=clang meson setup $(CLANG_BUILD) --buildtype=debugoptimized

# Every test, twice: the release build, then the same suites under ASan + UBSan; and everything
# compiled once more with clang, whose warnings (-Werror) differ from gcc's.
test: test-deps check-banned check-layers test-clang test-release test-asan test-cross
	@scripts/test-summary $(BUILD) $(ASAN_BUILD)

test-clang: $(CLANG_BUILD)/build.ninja
	ninja -C $(CLANG_BUILD)

# The aarch64 context switch, cross-compiled and run under qemu-user.
test-cross:
	tests/cross/run

test-release: $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs

test-asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	meson test -C $(ASAN_BUILD) --print-errorlogs --timeout-multiplier 3

check-banned:
	@scripts/check-banned

# A module that includes or calls one above it in DESIGN.md's layering fails the build.
check-layers:
	@scripts/check-layers

# Peers (Django, FastAPI, nginx) and Cadre in one run when ../shared/bench exists.
bench: build
	@scripts/install-deps --bench
	@scripts/install-deps --test
	@if [ -x $(SHARED)/bench/run-peers ]; then \
	  $(SHARED)/bench/run-peers --cmd '$(BUILD)/bench/cadre-bench' --name cadre \
	    --cmd-endpoints '$(BENCH_CMD_ENDPOINTS)' --endpoints $(BENCH_ENDPOINTS) --pipeline 16 \
	    --duration 8 --out bench/results.json $(BENCH_ARGS); \
	else \
	  bench/run-alone $(BUILD)/bench/cadre-bench; \
	fi
	@bench/admin-big $(BUILD)/bench/cadre-bench

# WebSocket echo (issue #17): Cadre's /ws against uvicorn + websockets, messages/s, CPU and RSS
# per case (bench/ws-echo, its client bench/ws-load.c; results in bench/ws-results.json).
WS_SECONDS ?= 8
bench-ws: build
	@scripts/install-deps --bench
	bench/ws-echo $(BUILD)/bench/cadre-bench $(BUILD)/bench/ws-load $(WS_SECONDS)

# Jobs per second through the tasks module's queue against Celery with kombu's SQLAlchemy broker,
# on SQLite and a throwaway PostgreSQL (bench/jobs; results in bench/jobs-results.json).
bench-jobs: build
	@scripts/install-deps --bench
	bench/jobs $(BUILD)/bench/jobs-bench $(BENCH_JOBS_ARGS)

# `db` on PostgreSQL: one instance, the same with metrics and request ids off, and two behind
# HAProxy, with each process' CPU time (bench/scale-out).
bench-scale-out: build
	@scripts/install-deps --test
	@command -v wrk > /dev/null || { echo "bench-scale-out needs wrk: apt-get install wrk"; exit 1; }
	tests/pg/with-postgres bench/scale-out $(BUILD)/bench/cadre-bench

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized -Dfuzz=true \
	  -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link

# Runs each libFuzzer target for FUZZ_SECONDS on a scratch copy of its corpus.
fuzz: test-deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	@scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: build
	meson install -C $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)
