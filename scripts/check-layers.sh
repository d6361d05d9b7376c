#!/usr/bin/env bash
# Who may import whom (docs/decisions.md, "Layers"): fails when a module reaches up, or when
# the web layer reaches into the store. Run by .ci/run; reads the sources, builds nothing.
#
# A module is a top-level entry of src/ (a folder or a file). Each has a rank; a module may
# use `crate::X` only for X of a lower rank, or of its own rank when the table says so.
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A rank=(
  [main]=10 [cli]=10 [lib]=10
  [app]=9 [http]=9
  [sign_in]=8
  [federation]=7
  [account]=6
  [oidc]=5
  [oauth]=4
  [audit]=3 [keys]=3
  [mail]=2 [store]=2 [telemetry]=2
  [config]=1
  [metrics]=0 [clock]=0 [listener]=0
)
# Same-rank pairs that may use each other: the composition root and the handlers it mounts.
same_rank_ok=" app>http http>app main>cli cli>main lib>main "

failures=0
fail() {
  echo "layers: $*" >&2
  failures=$((failures + 1))
}

while IFS= read -r file; do
  rel=${file#src/}
  from=${rel%%/*}
  from=${from%.rs}
  from_rank=${rank[$from]:-}
  if [ -z "$from_rank" ]; then
    fail "$file: module '$from' has no rank in scripts/check-layers.sh"
    continue
  fi
  # Every `crate::X` the file names (use lines and paths in code alike), comments left out.
  for to in $(sed -e 's://.*$::' "$file" | grep -oE 'crate::[a-z_]+' | sed 's/crate:://' | sort -u); do
    [ "$to" = "$from" ] && continue
    to_rank=${rank[$to]:-}
    if [ -z "$to_rank" ]; then
      fail "$file names crate::$to, which has no rank"
    elif ((to_rank > from_rank)); then
      fail "$file ($from, rank $from_rank) imports crate::$to (rank $to_rank): a lower layer reaches up"
    elif ((to_rank == from_rank)) && [[ "$same_rank_ok" != *" $from>$to "* ]]; then
      fail "$file ($from) imports crate::$to of the same rank: put what both need below them"
    fi
  done
done < <(find src -name '*.rs' | sort)

# The web layer talks to the domain, never to the store. Mapping a StoreError to a 503 is
# the one thing it may know of the store (http/error.rs and the admin API's error).
while IFS= read -r hit; do
  fail "$hit: src/http reaches the store; ask the domain instead"
done < <(grep -rnE 'crate::store|state\.store|^\s*\.store\b' src/http |
  grep -vE '^src/http/(error\.rs|admin/error\.rs):[0-9]+:.*StoreError' || true)

if ((failures)); then
  echo "layers: $failures problem(s); the rule is in docs/decisions.md (Layers)" >&2
  exit 1
fi
echo "layers: ok"
