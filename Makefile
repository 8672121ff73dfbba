# Shortcuts to the scripts, which do the work (and install what they need).
.PHONY: build serve test bench bench-core

build:
	./scripts/build.sh

serve:
	./scripts/serve.sh

test:
	./scripts/test.sh

# Every scenario once, one table (about 6 minutes): make bench ARGS="-o table.md"
bench:
	./scripts/bench.sh $(ARGS)

# Issue 2's scenario only (about 3 minutes).
bench-core:
	./scripts/bench.sh -run core $(ARGS)
