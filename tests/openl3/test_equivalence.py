"""The port against openl3 0.4.2's own outputs (reference fixtures made with TensorFlow).

``../shared/openl3-reference`` (fixture ``openl3_reference_dir``) is checked always when
present; a directory of extra fixtures in the same format (other input representations,
seeds, hops, inputs) is checked when ``SK_AVSC_EXTRA_REF`` points at it.

Tolerances (relative L2 over a case's whole embedding matrix), from issue 3: 1e-4 for
48 kHz audio and images that are not rescaled, 1e-3 for rescaled frames (short side above
256 px), 1e-2 for audio resampled to 48 kHz; timestamps within 1e-6 s.
"""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from sk_avsc import openl3
from sk_avsc.exceptions import SkAvscWarning

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def _rel_l2(actual, expected):
    return float(np.linalg.norm(actual - expected) / np.linalg.norm(expected))


def _audio_tolerance(sr):
    return 1e-2 if sr != 48000 else 1e-4


def _image_tolerance(frames):
    return 1e-3 if min(frames.shape[-3:-1]) > 256 else 1e-4


def _model_files(ref_dir, manifest):
    """{('audio', repr) or ('image',): (path, input_repr, content_type)} of a fixture dir."""
    files = {}
    for path in sorted(ref_dir.glob("openl3_*.h5")):
        _, modality, input_repr, content_type = path.stem.split("_")
        key = ("audio", input_repr) if modality == "audio" else ("image",)
        files[key] = (path, input_repr, content_type)
    for input_repr, name in manifest.get("audio_model_by_repr", {}).items():
        files[("audio", input_repr)] = (ref_dir / name, input_repr,
                                        manifest["models"][name]["content_type"])
    if "image_model" in manifest:
        name = manifest["image_model"]
        files[("image",)] = (ref_dir / name, manifest["models"][name]["input_repr"],
                             manifest["models"][name]["content_type"])
    return files


def _check_reference_dir(ref_dir, modality, size):
    """Run every case of one modality/embedding size; return the per-case table."""
    manifest = json.loads((ref_dir / "manifest.json").read_text())
    inputs = np.load(ref_dir / "inputs.npz")
    expected = np.load(ref_dir / "expected.npz")
    files = _model_files(ref_dir, manifest)
    models, rows = {}, []
    for case in manifest["cases"]:
        parts = case.split("__")
        if parts[0] != modality or int(parts[-4 if modality == "audio" else 1]) != size:
            continue
        with warnings.catch_warnings():
            # short, silent clips warn as openl3 does; the values are what is tested here
            warnings.simplefilter("ignore", SkAvscWarning)
            if modality == "audio":
                _, input_repr, _, name, hop, center = parts
                if input_repr not in models:
                    path, _, content = files[("audio", input_repr)]
                    models[input_repr] = openl3.load_audio_model(path, input_repr, content, size)
                sr = int(inputs["audio_sr__" + name])
                emb, ts = openl3.get_audio_embedding(
                    inputs["audio__" + name], sr, model=models[input_repr],
                    hop_size=float(hop[3:]), center=center == "center1")
                ts_err = float(np.max(np.abs(ts - expected[case + "__ts"])))
                tol = _audio_tolerance(sr)
            else:
                name = parts[2]
                if "image" not in models:
                    path, input_repr, content = files[("image",)]
                    models["image"] = openl3.load_image_model(path, input_repr, content, size)
                frames = inputs["image__" + name]
                emb = openl3.get_image_embedding(frames, model=models["image"])
                ts_err, tol = 0.0, _image_tolerance(frames)
        ref = expected[case]
        err = _rel_l2(emb, ref) if emb.shape == ref.shape else np.inf
        rows.append((case, emb.shape, ref.shape, err, tol, ts_err))
    return rows


def _assert_rows(rows):
    assert rows, "no case found"
    bad = [r for r in rows if not (r[3] <= r[4] and r[5] <= 1e-6)]
    table = "\n".join(f"{c}: shape {s} vs {rs}, rel L2 {e:.2e} (tol {t:.0e}), ts err {te:.1e}"
                      for c, s, rs, e, t, te in bad)
    assert not bad, f"{len(bad)} of {len(rows)} cases out of tolerance:\n{table}"


@pytest.mark.parametrize("modality, size",
                         [("audio", 512), ("audio", 6144), ("image", 512), ("image", 8192)])
def test_shared_reference_cases(openl3_reference_dir, modality, size):
    _assert_rows(_check_reference_dir(Path(openl3_reference_dir), modality, size))


@pytest.fixture(scope="module")
def extra_ref_dir():
    path = os.environ.get("SK_AVSC_EXTRA_REF")
    if not path:
        pytest.skip("set SK_AVSC_EXTRA_REF to a directory of extra openl3 reference fixtures")
    path = Path(path)
    if not (path / "manifest.json").is_file():
        pytest.skip(f"SK_AVSC_EXTRA_REF={path} has no manifest.json")
    return path


@pytest.mark.parametrize("modality, size",
                         [("audio", 512), ("audio", 6144), ("image", 512), ("image", 8192)])
def test_extra_reference_cases(extra_ref_dir, modality, size):
    _assert_rows(_check_reference_dir(extra_ref_dir, modality, size))


@pytest.mark.parametrize("case", ["audio__mel128__512__chirp_mono__hop0.1__center1",
                                  "image__512__bento_frames"])
def test_bfloat16_deviation_on_reference_case(openl3_reference_dir, case):
    # bfloat16 (load_*_model's dtype) must really compute in bf16 (farther from float32
    # than float32 rounding, 1e-4) yet stay near the documented ~5e-3 (up to 8.6e-3 per
    # window on these fixtures, benchmarks/bench_precision.py): within 2e-2 of float32
    # and of openl3
    import torch

    ref_dir = Path(openl3_reference_dir)
    manifest = json.loads((ref_dir / "manifest.json").read_text())
    inputs = np.load(ref_dir / "inputs.npz")
    parts = case.split("__")
    modality = parts[0]
    path, input_repr, content = _model_files(ref_dir, manifest)[
        ("audio", parts[1]) if modality == "audio" else ("image",)]
    embs = {}
    for dtype in (torch.float32, torch.bfloat16):
        if modality == "audio":
            model = openl3.load_audio_model(path, input_repr, content, 512, dtype=dtype)
            embs[dtype], _ = openl3.get_audio_embedding(
                inputs["audio__" + parts[3]], int(inputs["audio_sr__" + parts[3]]),
                model=model, hop_size=0.1, center=True)
        else:
            model = openl3.load_image_model(path, input_repr, content, 512, dtype=dtype)
            embs[dtype] = openl3.get_image_embedding(inputs["image__" + parts[2]], model=model)
        assert model.dtype == dtype
    bf16, f32 = embs[torch.bfloat16], embs[torch.float32]
    assert bf16.dtype == np.float32 and bf16.shape == f32.shape
    assert 1e-4 < _rel_l2(bf16, f32) < 2e-2
    assert _rel_l2(bf16, np.load(ref_dir / "expected.npz")[case]) < 2e-2
