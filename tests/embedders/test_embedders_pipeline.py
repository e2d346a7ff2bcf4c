"""The speed options of the embedders: precision, compile, decode_workers (on CPU).

The CUDA branches (pinned memory, TF32) cannot run here; what can is checked: bfloat16
against float32, tf32 refused off CUDA, parallel decoding equal to serial decoding, in
order, with failures raised in order.
"""

import shutil
import threading

import numpy as np
import pytest
import torch
from sklearn.base import clone

from sk_avsc import openl3
from sk_avsc.embedders import AudioVisualEmbedder, OpenL3AudioEmbedder, OpenL3FrameEmbedder
from sk_avsc.embedders import _engine
from sk_avsc.exceptions import AudioError, ParameterError

FAST = dict(weights="random", input_repr="mel128", hop_size=0.5, center=False)


def _wavs(make_wav, n, seconds=1.0):
    return [str(make_wav(f"c{i}.wav", seconds=seconds, seed=i)) for i in range(n)]


def _embed_calls(monkeypatch):
    calls = []
    real = openl3.embed_audio_windows

    def spy(windows, model, batch_size=32, verbose=False):
        calls.append(len(windows))
        return real(windows, model, batch_size, verbose)

    monkeypatch.setattr(openl3, "embed_audio_windows", spy)
    return calls


def test_bfloat16_is_close_to_float32_and_cached_apart(make_wav, tmp_path, monkeypatch):
    paths = _wavs(make_wav, 2, seconds=2.0)
    cache = tmp_path / "cache"
    f32 = OpenL3AudioEmbedder(**FAST, cache_dir=cache).fit()
    bf16 = clone(f32).set_params(precision="bfloat16").fit()
    assert f32.model_.dtype == torch.float32 and bf16.model_.dtype == torch.bfloat16
    a, b = f32.transform(paths), bf16.transform(paths)
    rel = np.linalg.norm(b - a) / np.linalg.norm(a)
    assert 0 < rel < 2e-2
    assert len(list((cache / "audio").glob("*.npz"))) == 4  # one entry per clip and precision
    calls = _embed_calls(monkeypatch)
    np.testing.assert_array_equal(bf16.transform(paths), b)
    np.testing.assert_array_equal(f32.transform(paths), a)
    assert calls == []  # each from its own entry


def test_compile_and_decode_workers_do_not_enter_the_cache_key(make_wav, tmp_path, monkeypatch):
    paths = _wavs(make_wav, 1)
    emb = OpenL3AudioEmbedder(**FAST, cache_dir=tmp_path).fit()
    first = emb.transform(paths)
    calls = _embed_calls(monkeypatch)
    np.testing.assert_array_equal(emb.set_params(decode_workers=4).fit().transform(paths), first)
    assert calls == []
    job = emb._job()
    other = _engine.Job(**{**job.__dict__, "compile": True, "decode_workers": 1})
    assert job.result_params("w") == other.result_params("w")
    assert "precision" not in job.result_params("w")  # float32 keys are those of before


@pytest.mark.skipif(not shutil.which("c++") and not shutil.which("g++"),
                    reason="torch.compile on CPU needs a C++ compiler")
def test_compile_reaches_the_loader():
    emb = OpenL3AudioEmbedder(**FAST, compile=True).fit()  # compiles lazily: cheap here
    assert emb.model_.__dict__["_compile"] is True


def test_tf32_is_refused_off_cuda():
    for cls in (OpenL3AudioEmbedder, OpenL3FrameEmbedder):
        with pytest.raises(ParameterError, match=r"precision='tf32' needs a CUDA device.*"
                                                 r"device='cpu'.*device='cuda'"):
            cls(weights="random", precision="tf32").fit()


def _fp32_flags():
    return (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)


def test_tf32_context_sets_both_cuda_flags_and_restores_them():
    from sk_avsc.openl3._loading import cuda_fp32_math

    before = _fp32_flags()
    with pytest.raises(KeyError):
        with cuda_fp32_math(True):
            assert _fp32_flags() == ("tf32", "tf32")
            raise KeyError  # restored on errors too
    assert _fp32_flags() == before
    with cuda_fp32_math(False):  # float32 on CUDA: no TF32, cuDNN's default included
        assert _fp32_flags() == ("ieee", "ieee")
    assert _fp32_flags() == before
    with _engine.precision_context("tf32", torch.device("cpu")):
        assert _fp32_flags() == before  # nothing changes off CUDA


@pytest.mark.parametrize("params, match", [
    ({"precision": "fp16"}, r"precision.*'float32', 'tf32', 'bfloat16'"),
    ({"compile": "yes"}, "compile"),
    ({"decode_workers": 0}, "decode_workers"),
])
def test_invalid_speed_parameters_fail_in_fit(params, match):
    with pytest.raises(ParameterError, match=match):
        OpenL3AudioEmbedder(weights="random", **params).fit()


def test_audio_visual_sets_the_speed_options_on_both_sides():
    av = AudioVisualEmbedder(OpenL3AudioEmbedder(**FAST), OpenL3FrameEmbedder(**FAST),
                             precision="bfloat16", decode_workers=2)
    audio, video = av._sides()
    assert (audio.precision, video.precision) == ("bfloat16", "bfloat16")
    assert (audio.decode_workers, video.decode_workers) == (2, 2)
    assert audio.compile is False  # None keeps each side's value
    assert clone(av).get_params()["precision"] == "bfloat16"


def test_decode_workers_decode_in_parallel_and_give_identical_embeddings_in_order(
        make_wav, monkeypatch):
    paths = _wavs(make_wav, 5)  # distinct noise: a clip out of place would show
    # batch_size 16: one clip per chunk, so five chunks
    serial = OpenL3AudioEmbedder(**FAST, batch_size=16).fit()
    reference = serial.transform(paths)
    # the first three decodes wait for each other: they finish only if they run at once
    barrier = threading.Barrier(3, timeout=30)
    real = _engine.load_inputs
    started = []

    def load(job, clips):
        started.append(clips[0].index)
        if clips[0].index < 3:
            barrier.wait()
        return real(job, clips)

    monkeypatch.setattr(_engine, "load_inputs", load)
    parallel = clone(serial).set_params(decode_workers=3).fit()
    out = parallel.transform(list(reversed(paths)))
    np.testing.assert_array_equal(out, reference[::-1])
    assert sorted(started) == [0, 1, 2, 3, 4]


def test_decode_workers_raise_a_bad_clip_in_order_after_caching_the_earlier_ones(
        media_dir, make_wav, tmp_path):
    good = _wavs(make_wav, 4)
    cache = tmp_path / "cache"
    emb = OpenL3AudioEmbedder(**FAST, batch_size=16, decode_workers=3, cache_dir=cache).fit()
    clips = good[:2] + [str(media_dir / "empty.wav")] + good[2:]
    with pytest.raises(AudioError, match=r"empty\.wav.*0 samples"):
        emb.transform(clips)
    cached = sorted(p.name.split("-")[0] for p in (cache / "audio").glob("*.npz"))
    assert cached == ["c0", "c1"]  # the clips after it were decoded, not embedded
