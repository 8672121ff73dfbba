# Shortcuts to the scripts, which do the work (and install what they need).
.PHONY: build serve test fuzz bench bench-core

build:
	./scripts/build.sh

serve:
	./scripts/serve.sh

test:
	./scripts/test.sh

# Every fuzzer for a fixed budget each (default 30s): make fuzz FUZZTIME=2m
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

# Every scenario once, one table (about 6 minutes): make bench ARGS="-o table.md"
bench:
	./scripts/bench.sh $(ARGS)

# Issue 2's scenario only (about 3 minutes).
bench-core:
	./scripts/bench.sh -run core $(ARGS)
