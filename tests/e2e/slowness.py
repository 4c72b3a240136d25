"""slowness.py - SYMBI_TEST_SLOW=N stretches every readiness wait and command
timeout of the end-to-end helpers N times, for runs under valgrind
(tests/valgrind.sh) or another slow wrapper. A module of its own: the chaos
and cluster suites import the helpers beside conftests of their own."""
import os

SLOW = max(1.0, float(os.environ.get("SYMBI_TEST_SLOW", "1")))

# SYMBI_TEST_VALGRIND=1 (tests/valgrind.sh): symbi runs under valgrind, whose
# limits on the process (it keeps descriptors of its own above the soft
# RLIMIT_NOFILE and refuses to lower the hard one) a test may have to skip
VALGRIND = os.environ.get("SYMBI_TEST_VALGRIND") == "1"
