# Pravesh. The two commands a person needs:
#   make run    install what is missing, build, create the store, serve
#   make test   install what is missing, build and run every suite: plain,
#               with AddressSanitizer + UndefinedBehaviorSanitizer, with
#               ThreadSanitizer, and the fuzz harnesses for FUZZ_SECONDS each
# Everything else here serves those two (make fuzz, make tsan: one part).

BUILD ?= build
SAN ?= 0
CC ?= cc

PKGS := libmicrohttpd jansson libsodium sqlite3 libpq libcurl libzip expat xlsxwriter libiddawc librhonabwy gnutls zlib
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lpthread -lm

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wvla
# The project's flags (standard, includes, warnings, sanitizers) live in
# their own variables, so that CFLAGS and LDFLAGS are the person's: make
# CFLAGS='-O0 -g' changes the optimisation and keeps -Isrc, -Werror and the
# sanitizer. The sanitizer builds default to -O1.
PV_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP
SAN_CFLAGS :=
SAN_LDFLAGS :=
ifeq ($(SAN),0)
CFLAGS ?= -O2 -g
else
CFLAGS ?= -O1 -g
endif
LDFLAGS ?=
ifeq ($(SAN),1)
SAN_CFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif
# ThreadSanitizer: the unit, store and HTTP suites (make tsan)
ifeq ($(SAN),thread)
SAN_CFLAGS := -fsanitize=thread -fno-omit-frame-pointer
SAN_LDFLAGS := -fsanitize=thread
endif
# libFuzzer harnesses (make fuzz): the library with coverage and ASan +
# UBSan, each harness linked with -fsanitize=fuzzer (Debian's clang)
ifeq ($(SAN),fuzz)
CC := clang
SAN_CFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
SAN_LDFLAGS := -fsanitize=address,undefined
endif
ALL_CFLAGS = $(PV_CFLAGS) $(SAN_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_LDFLAGS) $(WRAP_LDFLAGS) $(LDFLAGS)

SRC := $(shell find src -name '*.c' ! -path src/main.c | sort)
ASM := $(shell find src -name '*.S' | sort)
OBJ := $(SRC:%.c=$(BUILD)/obj/%.o) $(ASM:%.S=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libpravesh.a
BIN := $(BUILD)/pravesh

UNIT_SRC := $(shell find tests/unit tests/store tests/faults -name 'test_*.c' 2>/dev/null | sort)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
TEST_SUPPORT := $(shell find tests/support -name '*.c' 2>/dev/null | sort)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/obj/%.o)

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

.PHONY: all run deps test-deps check unit api browser test test-builds clean bench-deps fuzz fuzz-build fuzz-bins fuzz-run tsan tsan-check
.SECONDARY: $(TEST_SUPPORT_OBJ)

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# Files embedded with .incbin (the OpenAPI document) are dependencies too.
$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -I. -c $< -o $@

$(BUILD)/obj/src/http/openapi_blob.o: docs/openapi.json

$(LIB): $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/obj/src/main.o $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $(ALL_LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(LIB) $(PKG_LIBS) -lcmocka

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_support.h $(LIB) $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $< $(TEST_SUPPORT_OBJ) $(LIB) $(PKG_LIBS)

# The reader's tests count libzip's openings (the ZIP checks come first).
$(BUILD)/tests/unit/import/test_reader: WRAP_LDFLAGS += -Wl,--wrap=zip_open -Wl,--wrap=zip_fdopen

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test
	@scripts/npm-deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

# One build flavour: unit and store tests, then the black-box HTTP tests and
# the browser tests against the real binary of that flavour, on SQLite. When
# PRAVESH_TEST_PG_URL names a PostgreSQL server (make test starts one), the
# PostgreSQL unit tests run too (test_pg skips itself otherwise), and the
# store conformance suite runs a second time against a database of its own.
# PG_HTTP=1 adds the whole HTTP suite against PostgreSQL (a fresh database
# per server) and the cluster test (nginx before two servers on one
# database).
# The HTTP suite under ThreadSanitizer (about five times slower) runs without
# the tests of data volume (a 100,000-row upload killed and resumed, a disk
# filled) and of clients' timing (trickling headers, connection counts),
# which the plain and ASan builds run.
API_TESTS := tests/api/
ifeq ($(SAN),thread)
TSAN_SKIP := tests/api/uploads-durability.test.mjs tests/api/disk.test.mjs tests/api/backup.test.mjs \
	tests/api/hardening.test.mjs tests/api/sso.test.mjs
API_TESTS := $(filter-out $(TSAN_SKIP),$(sort $(wildcard tests/api/*.test.mjs)))
endif

# Each part once, as a canned recipe: make unit, make api and make browser
# run one part against this flavour's build; check runs them in order.
define run_unit
@scripts/run-unit.sh $(UNIT_BIN)
@if [ -n "$$PRAVESH_TEST_PG_URL" ]; then \
	db=conformance_$$(date +%s%N); \
	psql "$$PRAVESH_TEST_PG_URL/postgres" -qAtX -c "CREATE DATABASE $$db" && \
	echo "conformance suite against PostgreSQL" && \
	PRAVESH_TEST_STORE_URL="$$PRAVESH_TEST_PG_URL/$$db" scripts/run-unit.sh $(BUILD)/tests/store/test_conformance; fi
endef

define run_api
@env -u PRAVESH_TEST_PG_URL PRAVESH_BIN=$(abspath $(BIN)) node --test --test-concurrency=1 --test-timeout=900000 $(API_TESTS)
endef

define run_api_pg
@if [ "$(PG_HTTP)" = 1 ] && [ -n "$$PRAVESH_TEST_PG_URL" ]; then \
	echo "HTTP suite and cluster test against PostgreSQL" && \
	PRAVESH_BIN=$(abspath $(BIN)) node --test --test-concurrency=1 --test-timeout=900000 tests/api/ $$(ls -d tests/cluster 2>/dev/null); fi
endef

define run_browser
@env -u PRAVESH_TEST_PG_URL PRAVESH_BIN=$(abspath $(BIN)) node --test --test-concurrency=1 --test-timeout=900000 tests/browser/
endef

unit: $(UNIT_BIN)
	$(run_unit)

api: $(BIN)
	$(run_api)

browser: $(BIN)
	$(run_browser)

# The browser suite runs in the plain build only.
check: $(BIN) $(UNIT_BIN)
	$(run_unit)
	$(run_api)
	$(run_api_pg)
ifeq ($(SAN),0)
	$(run_browser)
endif

# make test runs every build (plain, ASan + UBSan, TSan) and the fuzz
# harnesses inside a throwaway PostgreSQL cluster (scripts/pg-cluster.sh run:
# initdb in a temporary folder, a free loopback port, stopped and removed at
# the end, also after a failure or ^C). The fuzz harnesses use no store.
# The PostgreSQL HTTP suite and the cluster test run in the plain build only:
# the sanitizer build runs the same HTTP suite on SQLite and every C suite
# (conformance, test_pg) against PostgreSQL, so the PostgreSQL backend's C
# code is still checked by ASan and UBSan; a fourth HTTP run would add about
# four minutes to the 30-minute budget for no code path not already covered.
test: test-deps
	@scripts/pg-cluster.sh run $(MAKE) --no-print-directory test-builds

test-builds:
	@scripts/check-source.sh
	@$(MAKE) --no-print-directory check BUILD=build SAN=0 PG_HTTP=1
	@$(MAKE) --no-print-directory check BUILD=build-san SAN=1
	@$(MAKE) --no-print-directory tsan-check
	@$(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=20
	@echo "make test: all suites passed (plain, ASan+UBSan and TSan builds, SQLite and PostgreSQL; fuzz harnesses)"

# The unit, store and HTTP suites under ThreadSanitizer, inside a throwaway
# PostgreSQL cluster as in make test (so the conformance suite and test_pg
# run against PostgreSQL too; the HTTP suite runs on SQLite).
tsan: test-deps
	@scripts/pg-cluster.sh run $(MAKE) --no-print-directory tsan-check

tsan-check:
	@$(MAKE) --no-print-directory check BUILD=build-tsan SAN=thread

# Every harness of tests/fuzz for FUZZ_SECONDS; fails on any crash, leak or
# sanitizer report (scripts/run-fuzz.sh).
fuzz: test-deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz SAN=fuzz fuzz-bins

fuzz-bins: $(FUZZ_BIN)

fuzz-run: fuzz-build
	@scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/fuzz/%)

bench-deps:
	@scripts/install-deps.sh bench

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(OBJ:.o=.d) $(BUILD)/obj/src/main.d $(UNIT_BIN:%=%.d) $(FUZZ_BIN:%=%.d) $(TEST_SUPPORT_OBJ:.o=.d)
