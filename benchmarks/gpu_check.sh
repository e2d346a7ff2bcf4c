#!/usr/bin/env bash
# The GPU pipeline check of issue 14 (part 4), as one short script for a lent GPU machine.
#
#   bash benchmarks/gpu_check.sh            # from the repository root; ~5-7 min
#
# Writes everything under $OUT (or benchmarks/gpu_check_out): env.txt, check.txt (CUDA
# branches against CPU float32), one bench_pipeline JSON + log per configuration, and
# gpu_check.log. Each step has its own timeout and a failing step does not stop the others,
# so the whole stays under 8 minutes on a fresh machine (no venv: it uses the system
# Python, installs only what is missing, and runs the package from this checkout).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR="${OUT:-benchmarks/gpu_check_out}"
mkdir -p "$OUT_DIR"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY="${PYTHON:-python3}"
START=$SECONDS
log() { echo "[$((SECONDS - START)) s] $*" | tee -a "$OUT_DIR/gpu_check.log"; }

# 1. torch with CUDA first (only installed when absent), then the package's dependencies
if ! timeout 60 "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
then
    log "torch with CUDA not importable: pip install torch (needs the network)"
    timeout 240 "$PY" -m pip install -q --retries 1 --timeout 15 torch >>"$OUT_DIR/pip.log" 2>&1 || log "pip torch failed"
fi
if ! timeout 60 "$PY" -c "import sk_avsc.embedders, soundfile, imageio_ffmpeg, resampy, skorch"
then
    log "dependencies missing: pip install (numpy scipy scikit-learn skorch ...)"
    timeout 180 "$PY" -m pip install -q --retries 1 --timeout 15 numpy scipy scikit-learn skorch joblib soundfile \
        imageio-ffmpeg h5py tqdm resampy pandas matplotlib filelock psutil \
        >>"$OUT_DIR/pip.log" 2>&1 || log "pip dependencies failed"
fi
{
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv || true
    "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)" || true
    lscpu | grep -E "Model name|^CPU\(s\)" || true
    uptime
    git log --oneline -1 || true
} >"$OUT_DIR/env.txt" 2>&1
cat "$OUT_DIR/env.txt" | tee -a "$OUT_DIR/gpu_check.log"
if ! timeout 60 "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"
then
    log "no CUDA device visible to torch: nothing to check"; exit 1
fi

# 2. the CUDA branches (pinned memory, one batch in flight, TF32 on/off, bfloat16) against
#    the CPU float32 reference, on a few windows and frames
log "check: CUDA embeddings against CPU float32"
timeout 120 "$PY" - >"$OUT_DIR/check.txt" 2>&1 <<'EOF'
import warnings

import numpy as np
import torch

from sk_avsc.embedders import OpenL3AudioEmbedder, OpenL3FrameEmbedder

warnings.simplefilter("ignore")
rng = np.random.default_rng(0)
clips = [(rng.uniform(-0.5, 0.5, 48000 * 3).astype(np.float32), 48000) for _ in range(3)]


def tf32_flags():
    b = torch.backends
    return (getattr(b.cuda.matmul, "fp32_precision", None),
            getattr(getattr(b.cudnn, "conv", None), "fp32_precision", None))


before = tf32_flags()
ref = OpenL3AudioEmbedder(weights="random", batch_size=7).fit().transform(clips)
for precision in ("float32", "tf32", "bfloat16"):
    for frontend_device in ("cpu", None):
        est = OpenL3AudioEmbedder(weights="random", batch_size=7, device="cuda",
                                  precision=precision).fit()
        est.model_.frontend_device = frontend_device
        out = est.transform(clips)
        rel = np.linalg.norm(out - ref) / np.linalg.norm(ref)
        print(f"audio {precision:<8} front-end on {frontend_device or 'cuda'}: "
              f"rel. L2 to CPU float32 {rel:.2e}, finite {np.isfinite(out).all()}")
print("TF32 flags restored:", tf32_flags() == before, tf32_flags())
frames = rng.integers(0, 255, (10, 240, 320, 3), dtype=np.uint8)
from sk_avsc import openl3  # noqa: E402

pre = openl3.preprocess_image(frames)
cpu = openl3.load_image_model("random", embedding_size=512)
ref = openl3.embed_images(pre, cpu, batch_size=4)
for dtype in (None, torch.bfloat16):
    gpu = openl3.load_image_model("random", embedding_size=512, device="cuda", dtype=dtype)
    out = openl3.embed_images(pre, gpu, batch_size=4)
    print(f"image dtype {dtype}: rel. L2 to CPU float32 "
          f"{np.linalg.norm(out - ref) / np.linalg.norm(ref):.2e}")
EOF
log "check rc=$?"; cat "$OUT_DIR/check.txt" | tee -a "$OUT_DIR/gpu_check.log"

# 3. per-stage throughput, the issue's target configuration first
WORKERS=$(nproc)
run() {  # run NAME TIMEOUT ARGS...
    local name=$1 limit=$2; shift 2
    log "bench $name: $*"
    timeout "$limit" nice "$PY" benchmarks/bench_pipeline.py --device cuda \
        --json "$OUT_DIR/$name.json" "$@" >"$OUT_DIR/$name.log" 2>&1
    log "bench $name rc=$?"; tail -n 16 "$OUT_DIR/$name.log" | tee -a "$OUT_DIR/gpu_check.log"
}
run bf16-gpu-frontend 150 --precision bfloat16 --frontend-on-device --batch-size 256 \
    --decode-workers "$WORKERS" --clips 16
run tf32-gpu-frontend 100 --precision tf32 --frontend-on-device --batch-size 256 \
    --decode-workers "$WORKERS" --clips 8
run fp32-cpu-frontend 100 --precision float32 --batch-size 128 --decode-workers "$WORKERS" \
    --clips 4
log "done in $((SECONDS - START)) s; outputs in $OUT_DIR"
