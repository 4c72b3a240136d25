# chaos.mk - `make test-chaos`: the reliability campaign of tests/chaos
# (issue 20, docs/reliability.md): 100 kill -9 points, disk full, a store
# locked for 30 s, 1,400 hostile requests, a 10-minute soak of 2,000 jobs
# every second. Run at nice 19; the figures end up in $(BUILD)/chaos-report.jsonl.
# `make test` runs a short slice of the same suite (tests/run.d/chaos.sh).

.PHONY: test-chaos
test-chaos: deps
	@$(MAKE) --no-print-directory tests
	@rm -f $(BUILD)/chaos-report.jsonl
	@SYMBI_BIN=$(CURDIR)/$(BUILD)/symbi SYMBI_BUILD=$(CURDIR)/$(BUILD) SYMBI_CHAOS=full \
	    SYMBI_CHAOS_REPORT=$(CURDIR)/$(BUILD)/chaos-report.jsonl \
	    nice -n 19 $(PYTHON) -m pytest -q -s -p no:cacheprovider -rfEs tests/chaos; \
	    rc=$$?; echo "== chaos figures ($(BUILD)/chaos-report.jsonl)"; \
	    cat $(BUILD)/chaos-report.jsonl 2>/dev/null; exit $$rc
