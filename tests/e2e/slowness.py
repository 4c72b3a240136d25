"""slowness.py - SYMBI_TEST_SLOW=N stretches every readiness wait and command
timeout of the end-to-end helpers N times, for runs under valgrind
(tests/valgrind.sh) or another slow wrapper. A module of its own: the chaos
and cluster suites import the helpers beside conftests of their own."""
import os

SLOW = max(1.0, float(os.environ.get("SYMBI_TEST_SLOW", "1")))
