# Kiroku: `make run` runs kirokud on its embedded defaults; `make test`
# installs what the tests need when it is missing and runs them.

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
BIN       ?= bin
TOOLS     := $(CURDIR)/.tools
export PATH := $(TOOLS)/bin:$(PATH)

.PHONY: run build test test-deps vet clean

run:
	$(GO) run ./cmd/kirokud $(ARGS)

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kirokud ./cmd/kirokud
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/kirokuctl ./cmd/kirokuctl

# Debian packages the tests use: SIPp (sip-tester) as caller and agent,
# promtool (prometheus) to check the alert rules, systemd-analyze (systemd)
# to check the unit, chromium (headless) for the web UI test, baresip as
# a TLS and SRTP peer, kamailio as the load balancer of the two-node test,
# PostgreSQL (postgresql; internal/testenv/pgtest runs its own server from the
# binaries under /usr/lib/postgresql) for the catalog on PostgreSQL,
# nftables (nft) for the NAT of internal/testenv/nattest's namespaces,
# espeak-ng and sox for the speech, music and DTMF audio of the in-band key
# tests (internal/testenv/audiotest), linphonec (linphone-cli) as a
# softphone caller with its own SIP stack and codec list
# (internal/testenv/linphonetest), spandsp (libspandsp-dev, built against
# with the C compiler) whose G.722 coder media's G.722 is checked against
# bit for bit, and flac and opus-tools (opusdec) as the outside decoders
# of the stored audio formats' tests; npm fetches axe-core (the
# accessibility checks the Chromium tests run on each page) into .tools/.
AXE_VERSION := 4.10.3
AXE_JS      := $(TOOLS)/axe-core-$(AXE_VERSION)/axe.min.js
test-deps:
	@missing=""; \
	command -v sipp >/dev/null || missing="$$missing sip-tester"; \
	command -v baresip >/dev/null || missing="$$missing baresip-core"; \
	[ -x /usr/sbin/kamailio ] || missing="$$missing kamailio"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	command -v nft >/dev/null || [ -x /usr/sbin/nft ] || missing="$$missing nftables"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	command -v sox >/dev/null || missing="$$missing sox"; \
	[ -f /usr/include/spandsp/g722.h ] || missing="$$missing libspandsp-dev"; \
	command -v cc >/dev/null || missing="$$missing gcc"; \
	command -v linphonec >/dev/null || missing="$$missing linphone-cli"; \
	command -v flac >/dev/null || missing="$$missing flac"; \
	command -v opusdec >/dev/null || missing="$$missing opus-tools"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	[ -d /usr/share/fonts/opentype/ipafont-gothic ] || missing="$$missing fonts-ipafont-gothic"; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@[ -f $(AXE_JS) ] || { \
		echo "fetching axe-core $(AXE_VERSION) from the npm registry into $(TOOLS)"; \
		tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null && tar -xzf axe-core-$(AXE_VERSION).tgz package/axe.min.js) && \
		mkdir -p $(dir $(AXE_JS)) && mv $$tmp/package/axe.min.js $(AXE_JS) && rm -rf $$tmp; }

# vet: go vet, and go.mod/go.sum exactly as go mod tidy would write them.
vet:
	$(GO) vet ./...
	$(GO) mod tidy -diff

test: test-deps s3-server vet
	$(GO) test -race -count=1 -timeout 20m ./...

clean:
	rm -rf bin kiroku-data

# ---------------------------------------------------------------------------
# check-systemd: systemd-analyze verify and security on systemd/kirokud.service.
# verify wants ExecStart's binary to exist, so it checks a copy of the unit
# that starts the bin/kirokud just built, and fails on any warning too (a
# misspelt hardening key is only a warning); security fails above an exposure
# of 2.0 (--threshold counts tenths; --offline needs systemd >= 250, Debian
# 12 has 252). systemd/systemd_test.go runs the same checks under `make test`.
.PHONY: check-systemd
check-systemd: build
	@command -v systemd-analyze >/dev/null || { \
		echo "installing: systemd (for systemd-analyze)"; \
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq systemd >/dev/null; }
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	sed 's#^ExecStart=/usr/local/bin/kirokud #ExecStart=$(CURDIR)/bin/kirokud #' systemd/kirokud.service >"$$tmp/kirokud.service"; \
	grep -q '^ExecStart=$(CURDIR)/bin/kirokud ' "$$tmp/kirokud.service" || { \
		echo >&2 "systemd/kirokud.service: no ExecStart=/usr/local/bin/kirokud line to point at bin/kirokud"; exit 1; }; \
	out=$$(systemd-analyze verify "$$tmp/kirokud.service" 2>&1) && [ -z "$$out" ] || { \
		printf >&2 '%s\n' "$$out"; echo >&2 "systemd-analyze verify: systemd/kirokud.service is not clean"; exit 1; }; \
	echo "systemd-analyze verify systemd/kirokud.service: ok"
	@rc=0; out=$$(systemd-analyze security --offline=true --threshold=20 systemd/kirokud.service 2>&1) || rc=$$?; \
	printf '%s\n' "$$out" | grep -E '^✗|Overall exposure' || printf '%s\n' "$$out"; \
	[ $$rc = 0 ] || { echo >&2 "systemd-analyze security: systemd/kirokud.service is exposed above 2.0"; exit 1; }

# ---------------------------------------------------------------------------
# s3-server: versitygw, the S3 server internal/testenv/s3test runs for the storage
# tests, built from the Go module proxy into .tools/bin once (about 2-3
# minutes cold on 2 cores) and reused while it is the pinned version;
# internal/testenv/s3test.Version must name the same one.
VERSITYGW_VERSION := v1.8.0
.PHONY: s3-server
s3-server:
	@$(GO) version -m $(TOOLS)/bin/versitygw 2>/dev/null | \
		grep -qE '^[[:space:]]+mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$(VERSITYGW_VERSION)[[:space:]]' || { \
		echo "building versitygw $(VERSITYGW_VERSION) into $(TOOLS)/bin (minutes, once)"; \
		GOBIN=$(TOOLS)/bin $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION); }
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# bench-calls: the load benchmark of issue "Dual-channel recording…". It
# builds kirokud, runs it on loopback with a generated config, drives
# BENCH_CALLS concurrent recorded calls (ramped at BENCH_RATE/s, each held
# BENCH_HOLD) to its own agent and prints set-ups/s, calls held, kirokud's
# cores, CPU and RSS per call, RTP relayed/lost each way and the
# recordings' gaps. A benchmark, not a test: it prints figures and stops by
# itself. BENCH_ARGS passes more flags: -wait-quiet 2m (start when the
# shared machine is quiet), -keep, -q, -dir /dev/shm, -kirokud bin/kirokud.
BENCH_CALLS ?= 500
BENCH_RATE  ?= 150
BENCH_HOLD  ?= 30s
.PHONY: bench-calls
bench-calls:
	$(GO) run ./cmd/kiroku-load -calls $(BENCH_CALLS) -rate $(BENCH_RATE) -hold $(BENCH_HOLD) $(BENCH_ARGS)
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# bench-storm: a call storm (issue "Call storms without a lost call").
# SIPp (sip-tester) as the caller and as the agent against a kirokud built
# from this tree (or KIROKUD=path) storing into versitygw: N calls started
# at RATE/s, each held HOLD, RTP both ways. Prints calls ok on each leg,
# failed calls, datagrams dropped on kirokud's sockets (/proc/net/udp),
# set-up latency p50/p99, CPU and RSS per call, threads, recordings
# stored. DISK_LOAD=1 rewrites a 256 MiB file with an fsync a MiB on the
# same disk meanwhile. CPU_QUOTA=0.3 limits kirokud to 0.3 cores of CPU
# time (a cgroup; root), to take it past capacity with generators that
# are not; MAX_CALLS sets kirokud's sip.max_calls (default: room for all).
# NICE=-10 runs kirokud at that niceness, ahead of the generators for the
# CPU (root): on 2 cores the generators' CPU is what kirokud lacks.
# STORM_LOGS=dir keeps SIPp's traces there;
# STORM_PROFILE=dir saves kirokud's CPU profile of the ramp (cpu-ramp) and its
# heap, goroutine and allocs profiles
# with every call up. A benchmark, not a test.
N         ?= 800
RATE      ?= 200
HOLD      ?= 30s
DISK_LOAD ?= 0
CPU_QUOTA ?= 0
MAX_CALLS ?= 0
NICE      ?= 0
KIROKUD   ?=
.PHONY: bench-storm
bench-storm: test-deps s3-server
	STORM_N=$(N) STORM_RATE=$(RATE) STORM_HOLD=$(HOLD) STORM_DISK_LOAD=$(DISK_LOAD) STORM_CPU_QUOTA=$(CPU_QUOTA) STORM_MAX_CALLS=$(MAX_CALLS) STORM_NICE=$(NICE) STORM_KIROKUD=$(KIROKUD) \
		$(GO) test -run '^$$' -bench BenchmarkStorm -benchtime 1x -count 1 -timeout 20m ./internal/bench/storm

# ---------------------------------------------------------------------------
# bench-storage: spool → S3 (versitygw on loopback) pipeline, 30 s stereo
# recordings: recordings stored per second from a backlog, and the time
# from a call's end to its recording stored (median, p99) at 10 calls/s.
.PHONY: bench-storage
bench-storage: s3-server
	$(GO) test -run '^$$' -bench BenchmarkStoreS3 -benchtime 200x -count 3 ./storage/upload

# ---------------------------------------------------------------------------
# bench-format: each audio_format (pcm, g711, flac, opus) — encode CPU
# seconds and MB per recorded hour of a five-minute conversation (espeak-ng
# speech in turns, through μ-law), then the spool → versitygw pipeline on
# 5-minute recordings: recordings stored per second, the concurrent
# 5-minute calls that keeps up with, and the stored MB per recorded hour;
# then the background transcoder converting stored g711 (opus) and pcm
# (flac) 5-minute recordings: conversions per second at a whole CPU and
# the concurrent 5-minute calls it keeps up with at that and at the
# default transcoder.cpu_percent.
.PHONY: bench-format
bench-format: s3-server
	$(GO) test -run '^$$' -bench BenchmarkEncode -count 5 ./audiofile
	$(GO) test -run '^$$' -bench BenchmarkStoreFormat -benchtime 4x -count 3 ./storage/upload
	$(GO) test -run '^$$' -bench BenchmarkTranscode -benchtime 4x -count 3 ./storage/transcode

# ---------------------------------------------------------------------------
# bench-purge: 100,000 expired recordings (two small objects each) in the
# catalog and versitygw on loopback, purged end to end; prints recordings/s.
.PHONY: bench-purge
bench-purge: s3-server
	$(GO) test -run '^$$' -bench BenchmarkPurgeS3 -benchtime 1x -count 3 -timeout 30m ./retention

# ---------------------------------------------------------------------------
# fuzz: go test -fuzz on each entry point that takes network input (a SIP
# datagram through the guard, rate limit and admission; session timer
# headers; INFO bodies; SDP; RTP; RFC 4733 events), FUZZTIME each. The
# seed corpora under */testdata/fuzz/ run as ordinary tests in every
# `go test`; `make test` also fuzzes each target for FUZZTIME_BRIEF
# (a number of calls).
# A failing input is written to testdata/fuzz/<target>/: keep it there
# as a regression seed once fixed.
FUZZ_TARGETS   := ./sip:FuzzAdmit ./sip:FuzzSessionTimer ./sip:FuzzParseInfoDTMF ./sip:FuzzBadRequest ./sip:FuzzRAck \
                  ./media:FuzzParseSDP ./media:FuzzParseRTP ./media:FuzzDetector ./media:FuzzSRTPDecrypt ./media:FuzzG722Transcode
FUZZTIME       ?= 30s
# A count, not a duration: Go 1.26's fuzz coordinator can fail a target
# with a bare "context deadline exceeded" when a -fuzztime duration runs
# out while a worker is mid-call (golang/go#75804, fixed in Go 1.27); it
# did so in a loaded run here. 40,000 calls take 1–3 s a target.
FUZZTIME_BRIEF ?= 40000x
.PHONY: fuzz fuzz-brief
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

fuzz-brief:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZTIME_BRIEF)

test: fuzz-brief
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# bench-api: a catalog of BENCH_API_RECORDINGS recordings (a year of calls
# over 20 lines and three purposes, 200,000 callers), searched with
# typical filters through GET /api/v1/recordings over real HTTP (query,
# JSON and the audit entry each search writes) and through catalog.Search
# alone; prints the median and 99th percentile in milliseconds (target:
# p99 under 50 ms). Filling the catalog takes a few minutes.
BENCH_API_RECORDINGS ?= 1000000
.PHONY: bench-api
bench-api:
	KIROKU_BENCH_RECORDINGS=$(BENCH_API_RECORDINGS) $(GO) test -run '^$$' -bench BenchmarkSearch -benchtime 200x -count 1 -timeout 30m ./httpapi
