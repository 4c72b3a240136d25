# cluster.mk - `make test-cluster`: the cluster tests at full length (issue
# 16, issue 20 item 1): three nodes on a throwaway PostgreSQL server, 500
# jobs every second for 60 s, kill -9 of a node under the default 15 s lease,
# PostgreSQL away for 10 s, 30 kill -9 iterations at random points. Each
# prints its figures (`cluster: ...` lines). `make test` runs the short ones
# (tests/run.d/cluster.sh).
.PHONY: test-cluster
test-cluster: deps $(BIN)
	SYMBI_BIN=$(CURDIR)/$(BIN) SYMBI_BUILD=$(CURDIR)/$(BUILD) CLUSTER_SCALE=full \
	    nice -n 19 /usr/bin/python3 -m pytest -q -s -p no:cacheprovider -rfEs tests/cluster
