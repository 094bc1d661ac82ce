# bidwatch — see README.md. Every target works on a fresh clone.
GO      ?= go
BIN     := bin/bidwatch
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.Version=$(VERSION) -X main.Commit=$(COMMIT)
STATICCHECK_VERSION := v0.8.2
# Benchmarks print a table with the machine's core count; BENCH_N is the
# WebSocket load steps.
BENCH_N ?= 1,1000,5000,10000

.PHONY: build test bench lint demo fuzz clean screenshots

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/bidwatch

## test: the whole suite with the race detector (what CI runs). It first
## installs what the tests need where it is missing (redis-server, chromium,
## a CJK font, poppler-utils, python3-aiortc: scripts/test-deps). About 9.5–10.5
## minutes on 2 cores, one package per core. The suite mostly waits on real
## peers and processes, so `make test TEST_P=3` takes about 7, but then the
## end-to-end soaks share the CPU with two other packages and one run in four
## saw the no-fault soak raise incidents from a stalled machine: CI keeps 2.
TEST_P ?= 2
test:
	./scripts/test-deps
	$(GO) test -race -count=1 -p $(TEST_P) -timeout 20m ./...

## bench: every benchmark of the issues, then the WebSocket load run. Soak and
## load runs are bounded in count and time; all traffic stays on loopback.
## Takes about 26 minutes on 2 cores; the figures are in docs/performance.md.
bench: build
	@echo "# machine: $$(nproc) cores, $$(free -g | awk '/Mem:/{print $$2}') GiB, $$($(GO) version)"
	$(GO) test -run '^$$' -bench 'ParseMessage' -benchmem ./synthetic/ws/
	$(GO) test -run '^$$' -bench 'Fanout' -benchmem ./synthetic/hall/
	$(GO) test -run '^$$' -bench 'DetectDropout' -benchtime 20x ./synthetic/ws/
	$(GO) test -run '^$$' -bench 'RTCParticipants' -benchtime 1x -timeout 20m ./synthetic/rtc/
	$(GO) test -run '^$$' -bench 'RTCFreezeFlag' -benchtime 10x ./synthetic/rtc/
	$(GO) test -run '^$$' -bench 'Viewers/n=200' -benchtime 1x -timeout 10m ./synthetic/rtc/
	$(GO) test -run '^$$' -bench 'FreezeFlagP95' -benchtime 1x -timeout 20m ./synthetic/rtc/
	$(GO) test -run '^$$' -bench 'Publish' -benchtime 200x ./internal/bus/
	$(GO) test -run '^$$' -bench 'AgentPublish|SpoolAppend' ./probe/
	$(GO) test -run '^$$' -bench 'FailoverToAck' -benchtime 3x ./internal/bus/
	$(GO) test -run '^$$' -bench 'AgentCPU' -benchtime 1x ./probe/
	$(GO) test -run '^$$' -bench 'Ingest' -benchtime 200000x ./watchdog/
	$(GO) test -run '^$$' -bench 'Apply|RoomYearBytes|Year50Rooms|RawHourBytes' -benchmem -benchtime 3x ./watchdog/rollup/
	$(GO) test -run '^$$' -bench 'FaultToIncident' -benchtime 20x -timeout 20m ./watchdog/
	$(GO) test -run '^$$' -bench 'FaultToAlert' -benchtime 20x -timeout 20m ./watchdog/
	$(GO) test -run '^$$' -bench 'Remedy' -benchtime 20x -timeout 20m ./watchdog/
	$(GO) test -run '^$$' -bench 'FaultToAlert' -benchtime 20x ./watchdog/dispatch/
	$(GO) test -run '^$$' -bench 'RateCheck|Outbox' ./watchdog/dispatch/
	$(GO) test -run '^$$' -bench 'CorrelatePlan' -benchmem ./watchdog/decide/
	$(GO) test -run '^$$' -bench 'FaultToIncident' -benchtime 1x ./watchdog/scenario/
	$(GO) test -run '^$$' -bench 'FaultToFeed' -benchtime 20x ./console/
	$(GO) test -run '^$$' -bench 'Viewers$$' -benchtime 10x ./console/
	$(GO) test -run '^$$' -bench 'ViewerMemory' -benchtime 500x ./console/
	$(GO) test -run '^$$' -bench 'Sparklines|OverviewCPU' -benchtime 1x -timeout 10m ./e2e/
	$(GO) test -run '^$$' -bench 'YearReport|YearRollupsRead' -benchtime 3x ./watchdog/report/
	$(GO) test -run '^$$' -bench 'SealPerSample|SealGroupRedis|Verify' -benchmem ./watchdog/evidence/
	$(GO) test -run '^$$' -bench 'Score|WriteHTML' -benchmem ./watchdog/drills/
	$(GO) run ./bench/wsload -bidwatch $(BIN) -n $(BENCH_N)

## lint: formatting, go.mod/go.sum tidy, vet, and staticcheck from the Go
## module proxy.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## fuzz: a short run of every fuzz target (seed corpora live in testdata/).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseMessage$$' -fuzztime 30s ./synthetic/ws/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s ./internal/config/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRecord$$' -fuzztime 30s ./probe/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s ./synthetic/hall/drill/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s ./watchdog/scenario/
	$(GO) test -run '^$$' -fuzz '^FuzzPeriodFor$$' -fuzztime 30s ./watchdog/report/
	$(GO) test -run '^$$' -fuzz '^FuzzScope$$' -fuzztime 30s ./watchdog/report/
	$(GO) test -run '^$$' -fuzz '^FuzzReadJSON$$' -fuzztime 30s ./watchdog/report/
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime 30s ./watchdog/evidence/
	$(GO) test -run '^$$' -fuzz '^FuzzScore$$' -fuzztime 30s ./watchdog/drills/
	$(GO) test -run '^$$' -fuzz '^FuzzParseIVF$$' -fuzztime 30s ./internal/mediaclip/
	$(GO) test -run '^$$' -fuzz '^FuzzParseAnnexB$$' -fuzztime 30s ./internal/mediaclip/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 30s ./internal/framestamp/
	$(GO) test -run '^$$' -fuzz '^FuzzVP8$$' -fuzztime 30s ./synthetic/rtc/
	$(GO) test -run '^$$' -fuzz '^FuzzH264$$' -fuzztime 30s ./synthetic/rtc/
	$(GO) test -run '^$$' -fuzz '^FuzzVP9$$' -fuzztime 30s ./synthetic/rtc/
	$(GO) test -run '^$$' -fuzz '^FuzzAV1$$' -fuzztime 30s ./synthetic/rtc/
	$(GO) test -run '^$$' -fuzz '^FuzzFrameBuffer$$' -fuzztime 30s ./synthetic/rtc/
	$(GO) test -run '^$$' -fuzz '^FuzzSeqStats$$' -fuzztime 30s ./synthetic/rtc/

## demo: the synthetic hall with a live check while scripted faults come and go.
demo: build
	./$(BIN) demo

## screenshots: the README's console pictures, taken by the browser test.
screenshots:
	./scripts/test-deps
	BIDWATCH_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run '^TestConsole$$' ./e2e/

clean:
	rm -rf bin
