#!/usr/bin/env bash
# Runs every fuzzer of the module (the hand-written HTTP/1.1 parsers'
# differential fuzzers against net/http, the API decoders', the watchdog's
# config parsers') with -fuzz for a fixed budget each, one after another:
#   ./scripts/fuzz.sh            30s each
#   ./scripts/fuzz.sh 5m         longer, e.g. before a release
#   FUZZ=Agrees ./scripts/fuzz.sh 1m   only the fuzzers whose name matches
# A failure leaves its input under the package's testdata/fuzz/, where
# plain `go test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
budget=${1:-30s}
filter=${FUZZ:-.}
status=0
# Each fuzzer is found where it is declared, so that a new one is run
# without being listed here.
while IFS=: read -r file decl; do
  name=$(sed -E 's/^func (Fuzz[A-Za-z0-9_]*).*/\1/' <<<"$decl")
  grep -Eq -- "$filter" <<<"$name" || continue
  pkg=$(dirname "$file")
  echo "== $pkg $name ($budget)"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" "$pkg" || status=1
done < <(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . | grep -v '^./test/kube/' | sort)
exit $status
