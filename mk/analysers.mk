# analysers.mk - sanitisers and analysers beyond `make test`'s ASan pass
# (docs/testing.md): ThreadSanitizer, valgrind, the clang -Werror check and
# the allocation-failure torture binary's link.
#   make test-tsan       unit + e2e under ThreadSanitizer (build-tsan)
#   make test-valgrind   e2e with the daemon and CLI under valgrind (VALGRIND_TESTS=...,
#                        VALGRIND_FDS=yes also fails descriptors left open at exit)
#   make test-valgrind-unit  unit binaries and fuzz-corpus replays under valgrind
#   make clang-check     every C file through clang -Werror (syntax and warnings only)

.PHONY: test-tsan test-valgrind test-valgrind-unit clang-check

# The torture test reroutes symbi's own allocations through its failing
# allocator (tests/unit/test_torture.c).
$(BUILD)/tests/test_torture: LDFLAGS += -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
test-tsan: deps
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT="-O1 -g $(TSAN_FLAGS)" \
	    LDSAN="$(TSAN_FLAGS)" tests
	@TSAN_OPTIONS="$${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/mk/tsan.supp}" \
	    tests/run.sh build-tsan

# clang's warnings differ from gcc's: every source, test, fuzz target and
# benchmark through clang with the same flags, no code generated.
CLANG_FILES = $(LIB_SRCS) $(MAIN_SRC) $(UNIT_SRCS) $(UNIT_SUPPORT) $(FUZZ_SRCS) fuzz/replay.c \
    $(BENCH_SRCS)
clang-check:
	@command -v clang >/dev/null || { echo "clang-check: clang missing"; exit 1; }
	$(Q)printf '%s\n' $(CLANG_FILES) | xargs -P2 -n16 clang -fsyntax-only -std=c11 $(WARN) \
	    -Werror $(CPPFLAGS) -Itests/unit $(PC_CFLAGS)

# the valgrind build's own directory: $(BIN) would name this make's build/symbi
VALGRIND_BUILD := build-valgrind
VALGRIND_TESTS ?= tests/e2e
test-valgrind: deps
	@$(MAKE) --no-print-directory BUILD=$(VALGRIND_BUILD) OPT="-O1 -g" $(VALGRIND_BUILD)/symbi
	@tests/valgrind.sh $(VALGRIND_BUILD) $(VALGRIND_TESTS)

# the same build's unit tests and corpus replays, each binary under memcheck
# with --track-fds=yes (VALGRIND_UNIT="test_json cron_parse_replay" for some)
VALGRIND_UNIT ?=
test-valgrind-unit: deps
	@$(MAKE) --no-print-directory BUILD=$(VALGRIND_BUILD) OPT="-O1 -g" tests
	@tests/valgrind-unit.sh $(VALGRIND_BUILD) $(VALGRIND_UNIT)
