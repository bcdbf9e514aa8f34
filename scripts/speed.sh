#!/usr/bin/env bash
# Side-by-side epoch timing, one thread each, on a quiet machine: hnnsolve
# pure Go and -tags openblas (6 alternating runs each, summarised by
# benchstat), then the PyTorch peer (3 runs at each size). Needs
# libopenblas-dev, python3-torch, python3-scipy and
# golang.org/x/perf/cmd/benchstat. The README's speed table comes from it.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=${PEER:-../shared/peers/pytorch_hnn.py}
out=$(mktemp -d)
go test -c -o "$out/pure.test" .
go test -tags openblas -c -o "$out/openblas.test" .
for _ in 1 2 3 4 5 6; do
  for build in pure openblas; do
    "$out/$build.test" -test.run xxx -test.bench 'Epoch/K=200/2x50/fused' -test.benchtime 1000x -test.cpu 1 | grep '^Benchmark' >> "$out/$build.txt"
    "$out/$build.test" -test.run xxx -test.bench 'Epoch/K=2000/2x128/fused' -test.benchtime 60x -test.cpu 1 | grep '^Benchmark' >> "$out/$build.txt"
  done
done
"${BENCHSTAT:-benchstat}" pure="$out/pure.txt" openblas="$out/openblas.txt"
for _ in 1 2 3; do
  /usr/bin/python3 "$peer" --epochs 2000 | tail -1
  /usr/bin/python3 "$peer" --epochs 2000 --points 2000 --width 128 | tail -1
done | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print("peer K=%d width %d: %.3f ms/epoch" % (d["points"], d["width"], d["ms_per_epoch"]))'
rm -rf "$out"
