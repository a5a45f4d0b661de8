# vmsnap-lab entry points. Every target prints what it does.
SHELL := /bin/bash
TSX := node --import tsx
# The project's own tools, run directly: npx would start npm for each, which reads
# (and warns about) whatever the machine's npm configuration holds.
BIN := node_modules/.bin

.PHONY: help deps doctor images test-images lab-up lab-down lab-ssh lab-status sweep test test-unit test-lab test-integration test-coexist report-merge report-compare bench bench-compare soak churn clean clean-cache lint typecheck

help:
	@echo "make deps        install system + npm packages, start libvirt (needs root/sudo)"
	@echo "make doctor      check this machine can run the lab (KVM is probed, not assumed)"
	@echo "make images      build the guest image and lab-host box (cached)"
	@echo "make lab-up      start the lab host;  make lab-down  remove it"
	@echo "make lab-ssh     shell in the lab host;  make lab-status  show it"
	@echo "make sweep       remove what dead runs (e.g. killed with SIGKILL) left in the lab host"
	@echo "make test        unit + lab + VMSnap suites;  make test-unit  unit only;  SHARD=i/n: a share of them"
	@echo "make report-merge  merge the shards' reports (SHARDS=\"dir1 dir2\" OUT=dir);  make report-compare A=dir B=dir"
	@echo "make test-lab / test-integration   one suite against a running lab"
	@echo "make bench       benchmark the phases (N=3), make bench-compare A=old.json B=new.json;  make soak  the suites N=5 times, flake rate"
	@echo "make churn       test guests started and destroyed in a loop (MINUTES=30): does the lab host survive"
	@echo "make clean       remove generated files;  make clean-cache  the lab-host box cache pool (lab-down keeps it)"

deps:
	bash lib/host/install-deps.sh

doctor:
	$(TSX) lib/cli/doctor.ts

# FORCE=1 rebuilds even when the images are up to date.
images:
	FORCE=$(FORCE) $(TSX) lib/cli/images.ts

typecheck:
	$(BIN)/tsc --noEmit

lint:
	$(BIN)/eslint .
	$(TSX) lib/cli/actionlint.ts

# Each suite writes JUnit XML here; .ci/run and reports read it.
REPORT_DIR ?= artifacts/reports/latest

test-unit:
	@mkdir -p $(REPORT_DIR)
	MOCHA_FILE=$(REPORT_DIR)/unit.xml $(BIN)/mocha --config test/unit/.mocharc.json

lab-up:
	$(TSX) lib/cli/lab.ts up

lab-down:
	$(TSX) lib/cli/lab.ts down

lab-status:
	$(TSX) lib/cli/lab.ts status

lab-ssh:
	$(TSX) lib/cli/lab.ts ssh

# What runs whose owner is gone left in the lab host (every suite run does this when it starts).
sweep:
	$(TSX) lib/cli/sweep.ts

# The lab itself, no VMSnap: needs `make lab-up`.
test-lab:
	@mkdir -p $(REPORT_DIR)
	MOCHA_FILE=$(REPORT_DIR)/lab.xml $(BIN)/mocha --config test/lab/.mocharc.json

# Two labs with different prefixes at once (the running one and <prefix>-b2, brought
# up and down by the test): needs `make lab-up`, about 4 min more under TCG.
test-coexist:
	@mkdir -p $(REPORT_DIR)
	MOCHA_FILE=$(REPORT_DIR)/coexist.xml $(BIN)/mocha --config test/coexist/.mocharc.json

# The VMSnap suites (plan categories): needs `make lab-up` with VMSnap installed.
# Some tests only: make test-integration GREP='Status Commands'
test-integration:
	@mkdir -p $(REPORT_DIR)
	MOCHA_FILE=$(REPORT_DIR)/integration.xml $(BIN)/mocha --config test/integration/.mocharc.json $(if $(GREP),--grep "$(GREP)")

# Each phase N times (default 3): images cold/cached, lab-up cold/warm/reuse, test
# guest, backups, restore, the whole suite; min/median/max to artifacts/bench/.
# BENCH_PHASES=images,lab-up,guest,suite picks groups; BENCH_SUITES=lab the suites.
bench:
	$(TSX) lib/cli/bench.ts $(if $(N),--runs $(N))

# Two bench results as one Markdown table, before and after: A=file B=file (artifacts/bench/*.json).
bench-compare:
	$(TSX) lib/cli/bench-compare.ts $(A) $(B)

# The suites N times in a row (default 5) against one lab: the flake rate.
# SOAK_SUITES=lab picks suites (default: lab, and integration with VMSnap).
soak:
	$(TSX) lib/cli/soak.ts $(if $(N),--runs $(N))

# Test guests started, used and destroyed in a loop for MINUTES (default 30),
# GUESTS at a time (default 3): whether the lab host survives that load.
churn:
	$(TSX) lib/cli/churn.ts

# The built images' contract (needs `make images`, no lab).
test-images:
	@mkdir -p $(REPORT_DIR)
	MOCHA_FILE=$(REPORT_DIR)/images.xml $(BIN)/mocha --config test/images/.mocharc.json

# Everything: unit, images, lab-up, lab suite, VMSnap suites, lab-down, checks after it.
# Reports go to artifacts/reports/<run-id> (latest points at it); REPORT_DIR=dir overrides.
test:
	$(TSX) lib/cli/test-all.ts

# The shards of one run (make test SHARD=i/n, each with its own REPORT_DIR) merged
# into one report with the totals of an unsharded run: SHARDS="dir1 dir2" OUT=dir.
report-merge:
	$(TSX) lib/cli/report-merge.ts --out $(or $(OUT),artifacts/reports/merged) $(SHARDS)

# Whether two report folders hold the same tests, each once (a merged sharded run
# against an unsharded one of the same commit), with their counts: A=dir B=dir.
report-compare:
	$(TSX) lib/cli/report-compare.ts $(A) $(B)

# The box cache pool (vmsnap-lab-boxcache) lab-down keeps so the next lab-up needs no upload.
clean-cache:
	$(TSX) lib/cli/lab.ts clean-cache

clean:
	rm -rf artifacts/probe artifacts/reports artifacts/logs
