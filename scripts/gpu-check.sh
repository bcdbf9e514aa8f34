#!/usr/bin/env bash
# scripts/gpu-check.sh: the one prepared check of the GPU engine (issue 11)
# on an NVIDIA GPU machine, which has no Go toolchain. It runs the GPU
# tests, the benchmarks (the bundle evaluator's too), `hnnsolve reproduce
# oscillator -device cuda` and the PyTorch peer side by side, and writes
# every log and one summary
# (summary.txt, summary.json) under $OUT. About 5-6 minutes; each step has
# its own timeout and the optional ones are skipped once 7 minutes have
# gone.
#
# Build here first (x86-64, static, no cgo), from the repository root; the
# folder gpubin/ is ignored by git and travels with `carry`:
#
#   rm -rf gpubin && mkdir -p gpubin
#   CGO_ENABLED=0 go test -c -tags gpu -ldflags='-s -w' -o gpubin/hnnsolve.test .
#   CGO_ENABLED=0 go test -c -tags gpu -ldflags='-s -w' -o gpubin/cuda.test ./internal/cuda
#   CGO_ENABLED=0 go build -tags gpu -ldflags='-s -w' -o gpubin/hnnsolve ./cmd/hnnsolve
#   cp -r ../shared gpubin/shared
#
# then on the GPU machine (the device tool's run, carry ["gpubin"]):
#
#   bash scripts/gpu-check.sh
#
# Without a GPU every GPU test and benchmark skips; with HNNSOLVE_GPU=host
# the tests run on the host emulation instead (slow; not for timing).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-check-out}
mkdir -p "$OUT"
BIN=$ROOT/gpubin
PY=${PYTHON:-/usr/bin/python3}
PEER=$BIN/shared/peers/pytorch_hnn.py
BUDGET=${GPU_CHECK_BUDGET:-420} # seconds after which optional steps are skipped
START=$SECONDS
STEPS=$OUT/steps.tsv
: >"$STEPS"

# The CUDA libraries: cuBLAS is not in the ldconfig cache there.
if [ -z "${HNNSOLVE_CUDA_LIB:-}" ]; then
  for d in /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-*/targets/x86_64-linux/lib /usr/local/cuda/lib64; do
    if [ -e "$d/libcublas.so.13" ] || [ -e "$d/libcublas.so.12" ]; then
      export HNNSOLVE_CUDA_LIB=$d
      break
    fi
  done
fi

# step NAME TIMEOUT OPTIONAL CMD...: runs CMD with its output in $OUT/NAME.log
# and records NAME, exit status and seconds in steps.tsv. An optional step
# is skipped once the budget is spent.
step() {
  local name=$1 limit=$2 optional=$3
  shift 3
  if [ "$optional" = yes ] && [ $((SECONDS - START)) -ge "$BUDGET" ]; then
    printf '%s\tskipped\t0\n' "$name" >>"$STEPS"
    echo "== $name: skipped (budget)"
    return
  fi
  echo "== $name ($(($SECONDS - START)) s in)"
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\n' "$name" "$rc" "$((SECONDS - t0))" >>"$STEPS"
  echo "   rc $rc, $((SECONDS - t0)) s"
  tail -n 3 "$OUT/$name.log" | sed 's/^/   | /'
}

{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(uname -srm), $(nproc) CPUs"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>&1 || echo "nvidia-smi failed"
  echo "HNNSOLVE_CUDA_LIB=${HNNSOLVE_CUDA_LIB:-}"
  ls -la "$BIN" 2>&1
  "$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' 2>&1
} >"$OUT/env.log"
cat "$OUT/env.log"

# 1. The binding's own tests on the GPU (internal/cuda), then the engine's:
#    kernels and products against the CPU engine, stops, batching, graphs,
#    Solve with Device CUDA.
step cuda-tests 150 no bash -c "cd internal/cuda && '$BIN/cuda.test' -test.v -test.count=1"
step engine-tests 300 no "$BIN/hnnsolve.test" -test.run 'CUDA' -test.v -test.count=1

# 2. Benchmarks: the GPU engine, and the CPU engine on this machine's CPU.
step bench-gpu 240 no "$BIN/hnnsolve.test" -test.run '^$' -test.bench 'EpochGPU' -test.benchtime 2s
step bench-cpu 60 yes "$BIN/hnnsolve.test" -test.run '^$' -test.bench 'Epoch/K=200/2x50/fused' -test.cpu 1 -test.benchtime 2s
# The saved oscillator bundle (issue 12): the state at T of 10^5 members on
# the GPU, on one CPU core, and by DOP853 member by member.
step bench-bundle 150 yes "$BIN/hnnsolve.test" -test.run '^$' -test.bench 'BundleStateAtT' -test.cpu 1 -test.benchtime 3x

# 3. The PyTorch peer on the GPU, same sizes (f64, its own timing).
if [ -f "$PEER" ]; then
  step peer-k200 90 yes "$PY" "$PEER" --device cuda --epochs 2000
  step peer-k200-graph 90 yes "$PY" "$PEER" --device cuda --cuda-graph --epochs 2000
  step peer-b4096 120 yes "$PY" "$PEER" --device cuda --batch 4096 --epochs 200
  step peer-b4096-graph 120 yes "$PY" "$PEER" --device cuda --batch 4096 --cuda-graph --epochs 200
  step peer-k20000 90 yes "$PY" "$PEER" --device cuda --points 20000 --width 256 --epochs 200
  step peer-k20000-graph 90 yes "$PY" "$PEER" --device cuda --points 20000 --width 256 --cuda-graph --epochs 200
else
  echo "no peer at $PEER (copy ../shared to gpubin/shared)" | tee "$OUT/peer-missing.log"
fi

# 4. The paper's oscillator end to end on the GPU, and on this CPU.
step reproduce-cuda 180 yes "$BIN/hnnsolve" reproduce oscillator -device cuda -quiet -out "$OUT/reproduce-cuda"
step reproduce-cpu 150 yes "$BIN/hnnsolve" reproduce oscillator -device cpu -quiet -out "$OUT/reproduce-cpu"
step reproduce-cuda-accurate 150 yes "$BIN/hnnsolve" reproduce oscillator -accurate -device cuda -quiet -out "$OUT/reproduce-cuda-accurate"

# 5. The summary.
"$PY" - "$OUT" <<'PYEOF' || echo "summary failed" >>"$OUT/summary.txt"
import json, os, re, sys
out = sys.argv[1]
def read(name):
    try:
        with open(os.path.join(out, name + ".log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""
steps = []
with open(os.path.join(out, "steps.tsv")) as f:
    for line in f:
        n, rc, s = line.rstrip("\n").split("\t")
        steps.append({"step": n, "rc": rc, "seconds": int(s)})
S = {"steps": steps, "tests": {}, "bench": {}, "peer": {}, "reproduce": {}, "targets": {}}
for name in ("cuda-tests", "engine-tests"):
    log = read(name)
    S["tests"][name] = {k: len(re.findall(r"^\s*--- %s" % k, log, re.M)) for k in ("PASS", "FAIL", "SKIP")}
    S["tests"][name]["failed"] = re.findall(r"^\s*--- FAIL: (\S+)", log, re.M)
    S["tests"][name]["device"] = re.findall(r"device: (.*)", log)[:1]
    S["tests"][name]["logs"] = [l.strip() for l in log.splitlines() if "relative" in l or "largest" in l][:40]
for name in ("bench-gpu", "bench-cpu", "bench-bundle"):
    for m in re.finditer(r"^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+([\d.]+) ns/op(.*)$", read(name), re.M):
        rest = dict((u, float(v)) for v, u in re.findall(r"([\d.e+-]+) (\S+)", m.group(4)))
        S["bench"][m.group(1)] = {"n": int(m.group(2)), "ns_per_op": float(m.group(3)), **rest}
for st in steps:
    if st["step"].startswith("peer-"):
        for line in read(st["step"]).splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    S["peer"][st["step"]] = json.loads(line)
                except ValueError:
                    pass
    if st["step"].startswith("reproduce-"):
        log = read(st["step"])
        S["reproduce"][st["step"]] = [l.strip() for l in log.splitlines()
                                       if re.match(r"\s*(max abs error|max energy error|train seconds|final loss|epochs run|ell_max|estimate Eq. 18|Euler)", l)]
def b(name, key="ns/epoch"):
    v = S["bench"].get(name, {})
    return v.get(key)
def p(name, key="ms_per_epoch"):
    return S["peer"].get(name, {}).get(key)
t = S["targets"]
k200 = b("BenchmarkEpochGPU/K=200/2x50")
k20k = b("BenchmarkEpochGPU/K=20000/2x256")
b4096 = b("BenchmarkEpochGPUBatch/K=200/2x50/B=4096", "us/net-epoch")
sb4096 = b("BenchmarkEpochGPUSolveBatch", "us/net-epoch")
t["K=200 2x50, us/epoch (target <= 100)"] = k200 and k200 / 1e3
t["  peer plain / graph, us/epoch"] = [p("peer-k200") and p("peer-k200") * 1e3, p("peer-k200-graph") and p("peer-k200-graph") * 1e3]
t["K=20000 2x256, ms/epoch (target <= 1.0)"] = k20k and k20k / 1e6
t["  peer plain / graph, ms/epoch"] = [p("peer-k20000"), p("peer-k20000-graph")]
t["B=4096 K=200 2x50, us/network-epoch (target <= 0.5)"] = b4096
t["  SolveBatch (whole call, 1000 epochs), us/network-epoch"] = sb4096
t["  peer plain / graph, us/network-epoch"] = [p("peer-b4096", "us_per_network_epoch"), p("peer-b4096-graph", "us_per_network_epoch")]
t["CPU engine on this host, K=200, us/epoch"] = (b("BenchmarkEpoch/K=200/2x50/fused") or 0) / 1e3 or None
t["bundle state at T, ns/member: GPU 1e5 / GPU 1e6 / CPU core / DOP853"] = [b("BenchmarkBundleStateAtTGPU/members=100000", "ns/member"),
    b("BenchmarkBundleStateAtTGPU/members=1000000", "ns/member"), b("BenchmarkBundleStateAtT/oscillator/bundle", "ns/member"), b("BenchmarkBundleStateAtT/oscillator/dop853", "ns/member")]
with open(os.path.join(out, "summary.json"), "w") as f:
    json.dump(S, f, indent=1)
with open(os.path.join(out, "summary.txt"), "w") as f:
    w = lambda *a: print(*a, file=f)
    w("GPU check (scripts/gpu-check.sh)")
    w(open(os.path.join(out, "env.log")).read().strip())
    w("\nsteps (name, exit status, seconds):")
    for st in steps:
        w("  %-26s %-8s %s" % (st["step"], st["rc"], st["seconds"]))
    w("\ntests:")
    for n, v in S["tests"].items():
        w("  %-14s pass %d, fail %d, skip %d %s" % (n, v["PASS"], v["FAIL"], v["SKIP"], ("FAILED: " + " ".join(v["failed"])) if v["failed"] else ""))
        for l in v["logs"]:
            w("     " + l)
    w("\nbenchmarks:")
    for n, v in S["bench"].items():
        w("  %-48s %s" % (n, ", ".join("%s %.4g" % (k, x) for k, x in v.items())))
    w("\npeer (PyTorch, f64, on the GPU):")
    for n, v in S["peer"].items():
        w("  %-20s %s" % (n, ", ".join("%s %s" % (k, v[k]) for k in ("points", "width", "batch", "cuda_graph", "ms_per_epoch", "us_per_network_epoch", "final_loss", "final_mean_loss") if k in v)))
    w("\ntargets (issue 11) and the peer in the same run:")
    for n, v in t.items():
        w("  %-52s %s" % (n, v))
    w("\nreproduce oscillator:")
    for n, v in S["reproduce"].items():
        w("  " + n)
        for l in v:
            w("     " + l)
PYEOF
echo
cat "$OUT/summary.txt"
echo "total $((SECONDS - START)) s; logs in $OUT"
