# Pravesh. The two commands a person needs:
#   make run    install what is missing, build, create the store, serve
#   make test   install what is missing, build twice (plain and with
#               AddressSanitizer + UndefinedBehaviorSanitizer), run every test
# Everything else here serves those two.

BUILD ?= build
SAN ?= 0
CC ?= cc

PKGS := libmicrohttpd jansson libsodium sqlite3 libcurl libzip expat xlsxwriter libiddawc
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lpthread -lm

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -Isrc $(PKG_CFLAGS) -MMD -MP
LDFLAGS ?=
ifeq ($(SAN),1)
CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

SRC := $(shell find src -name '*.c' ! -path src/main.c | sort)
ASM := $(shell find src -name '*.S' | sort)
OBJ := $(SRC:%.c=$(BUILD)/obj/%.o) $(ASM:%.S=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libpravesh.a
BIN := $(BUILD)/pravesh

UNIT_SRC := $(shell find tests/unit tests/store -name 'test_*.c' 2>/dev/null | sort)
UNIT_BIN := $(UNIT_SRC:%.c=$(BUILD)/%)
TEST_SUPPORT := $(shell find tests/support -name '*.c' 2>/dev/null | sort)
TEST_SUPPORT_OBJ := $(TEST_SUPPORT:%.c=$(BUILD)/obj/%.o)

.PHONY: all run deps test-deps check unit api browser test clean bench-deps
.SECONDARY: $(TEST_SUPPORT_OBJ)

all: $(BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Files embedded with .incbin (the OpenAPI document) are dependencies too.
$(BUILD)/obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -I. -c $< -o $@

$(BUILD)/obj/src/http/openapi_blob.o: docs/openapi.json

$(LIB): $(OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/obj/src/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(TEST_SUPPORT_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJ) $(LIB) $(PKG_LIBS) -lcmocka

# The reader's tests count libzip's openings (the ZIP checks come first).
$(BUILD)/tests/unit/import/test_reader: LDFLAGS += -Wl,--wrap=zip_open -Wl,--wrap=zip_fdopen

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test
	@scripts/npm-deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

# One build flavour: unit and store tests, then the black-box HTTP tests and
# the browser tests against the real binary of that flavour.
check: $(BIN) $(UNIT_BIN)
	@scripts/run-unit.sh $(UNIT_BIN)
	@PRAVESH_BIN=$(abspath $(BIN)) node --test --test-concurrency=1 --test-timeout=900000 tests/api/
	@if [ "$(SAN)" != 1 ] && [ -d tests/browser ] && ls tests/browser/*.test.mjs >/dev/null 2>&1; then \
		PRAVESH_BIN=$(abspath $(BIN)) node --test --test-concurrency=1 --test-timeout=900000 tests/browser/; fi

test: test-deps
	@$(MAKE) --no-print-directory check BUILD=build SAN=0
	@$(MAKE) --no-print-directory check BUILD=build-san SAN=1
	@echo "make test: all suites passed (plain and sanitizer builds)"

bench-deps:
	@scripts/install-deps.sh bench

clean:
	rm -rf build build-san

-include $(OBJ:.o=.d) $(BUILD)/obj/src/main.d $(UNIT_BIN:%=%.d)
