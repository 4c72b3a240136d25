# Makefile - builds symbi (one executable, every command), its static library,
# tests, fuzz targets and benchmarks. Plain GNU make with pkg-config.
#   make            build build/symbi
#   make run        build and start `symbi up` on examples/agents
#   make test       unit + end-to-end + fuzz-corpus replay, then all again under ASan+UBSan
#   make bench      bench/REPORT.md, symbi and its peers   make fuzz   libFuzzer runs (FUZZ_SECONDS=60)
#   make lint       clang-format check, banned functions, libraries in their modules
#   make install PREFIX=/usr/local           make clean

BUILD    ?= build
PREFIX   ?= /usr/local
CC       ?= cc
PKGS     := sqlite3 libcurl openssl jansson libmicrohttpd libpq
WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
# Warnings are errors in development and CI (a git checkout), not in a user's build.
WERROR   ?= $(if $(wildcard .git),-Werror,)
OPT      ?= -O2 -g
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ifeq ($(SAN),1)
OPT      := -O1 -g $(SAN_FLAGS)
LDSAN    := $(SAN_FLAGS)
endif
PC_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PC_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 $(OPT) $(WARN) $(WERROR) -MMD -MP $(PC_CFLAGS) $(CFLAGS)
LIBS      = $(PC_LIBS) -lpthread -lm

MAIN_SRC := src/cli/main.c
LIB_SRCS := $(filter-out $(MAIN_SRC),$(sort $(wildcard src/*/*.c)))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# docs/openapi.yaml, compiled in as JSON (GET /api/v1/openapi.json)
PYTHON      ?= /usr/bin/python3
OPENAPI_C   := $(BUILD)/gen/openapi.c
OPENAPI_OBJ := $(BUILD)/obj/gen/openapi.o
LIB_OBJS    += $(OPENAPI_OBJ)
LIB      := $(BUILD)/libsymbi.a
BIN      := $(BUILD)/symbi

UNIT_SRCS    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_SUPPORT := $(sort $(wildcard tests/unit/support/*.c))
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS    := $(sort $(wildcard fuzz/*_fuzz.c))
FUZZ_REPLAY  := $(FUZZ_SRCS:fuzz/%_fuzz.c=$(BUILD)/fuzz/%_replay)
BENCH_SRCS   := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS   := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
BENCH_SUPPORT := tests/unit/support/http_recv.c

.PHONY: all deps run test test-unit test-asan tests bench bench-bins fuzz lint format install clean

all: deps $(BIN)

deps:
	@mk/deps.sh

# V=1 shows the full commands.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(OPENAPI_C): docs/openapi.yaml mk/openapi_embed.py
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  GEN     $@",true)
	$(Q)$(PYTHON) mk/openapi_embed.py $< $@ $(BUILD)/gen/openapi.json

$(OPENAPI_OBJ): $(OPENAPI_C)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<",true)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BIN): $(BUILD)/obj/$(MAIN_SRC:.c=.o) $(LIB)
	@$(if $(Q),echo "  LINK    $@",true)
	$(Q)$(CC) $(LDSAN) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_SUPPORT) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST    $@",true)
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) -o $@ $< $(UNIT_SUPPORT) $(LIB) \
	    $(LDSAN) $(LDFLAGS) $$(pkg-config --libs cmocka) $(LIBS)

# Fuzz targets built as plain programs that replay their corpus (fuzz/corpus/<name>/).
$(BUILD)/fuzz/%_replay: fuzz/%_fuzz.c fuzz/replay.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@",true)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< fuzz/replay.c $(LIB) $(LDSAN) $(LDFLAGS) $(LIBS)

$(BUILD)/bench/%: bench/%.c $(BENCH_SUPPORT) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH   $@",true)
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(ALL_CFLAGS) -o $@ $< $(BENCH_SUPPORT) $(LIB) $(LDSAN) \
	    $(LDFLAGS) $(LIBS)

tests: $(BIN) $(UNIT_BINS) $(FUZZ_REPLAY)

# The whole suite, plain and under AddressSanitizer + UndefinedBehaviorSanitizer.
test: deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 tests
	@tests/run.sh build build-asan

# The plain build only (quicker while developing).
test-unit: deps
	@$(MAKE) --no-print-directory tests
	@tests/run.sh build

test-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=1 tests
	@tests/run.sh build-asan

run: all
	@mkdir -p data
	exec $(BIN) --data-dir data up --agents examples/agents

# The performance report (bench/REPORT.md): symbi built -O2 in its own
# directory, the peers installed (Debian packages, npm ci in bench/peers).
BENCH_BUILD ?= build-bench
bench: deps
	@mk/deps.sh bench
	@$(MAKE) --no-print-directory BUILD=$(BENCH_BUILD) OPT="-O2 -g -DNDEBUG" bench-bins
	@bench/run.sh $(BENCH_BUILD)

bench-bins: $(BIN) $(BENCH_BINS)

FUZZ_SECONDS ?= 60
fuzz: deps
	@bench/../fuzz/run.sh $(FUZZ_SECONDS)

LINT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
BANNED := sprintf|strcpy|strcat|strtok|atoi|atol|gets
lint:
	@command -v clang-format >/dev/null || { echo "lint: clang-format missing"; exit 1; }
	@clang-format --dry-run --Werror $(LINT_FILES)
	@if grep -nE '(^|[^a-z_])($(BANNED))[[:space:]]*\(' $$(git ls-files 'src/*.c' 'src/*.h'); then \
	    echo "lint: banned function used (see above)"; exit 1; fi
	@mk/lint-deps.sh
	@echo "lint: ok"

format:
	clang-format -i $(LINT_FILES)

# The binary, the systemd unit (ExecStart pointing at this PREFIX), the man
# page and the bash/zsh completions.
UNITDIR  ?= $(PREFIX)/lib/systemd/system
MANDIR   ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR  ?= $(PREFIX)/share/zsh/site-functions
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/symbi
	sed 's|/usr/local/bin/symbi|$(PREFIX)/bin/symbi|' dist/symbi.service > $(DESTDIR)$(UNITDIR)/symbi.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/symbi.service
	install -m 0644 dist/symbi.1 $(DESTDIR)$(MANDIR)/man1/symbi.1
	install -m 0644 dist/completions/symbi.bash $(DESTDIR)$(BASHCOMPDIR)/symbi
	install -m 0644 dist/completions/_symbi $(DESTDIR)$(ZSHCOMPDIR)/_symbi

clean:
	rm -rf build build-asan build-fuzz

# Extra targets of a module or a campaign (mk/<name>.mk: test-chaos, test-tsan, ...).
include $(sort $(wildcard mk/*.mk))

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
