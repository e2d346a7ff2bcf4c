"""ResNet50, its weight files, VideoFrames and ResNet50FrameClassifier."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from sk_avsc.aggregation import aggregate_windows
from sk_avsc.comparison import (
    ResNet50,
    ResNet50FrameClassifier,
    VideoFrames,
    count_parameters,
    load_resnet50_weights,
)
from sk_avsc.comparison._resnet50_classifier import _FrameBatches, _Frames
from sk_avsc.embedders import frame_indices
from sk_avsc.exceptions import ParameterError, RandomWeightsWarning, WeightsError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: The paper's "~23 M" for its ResNet50 (no 1000-class layer, a 10-class one).
PAPER_RESNET50_PARAMS = 23e6


def test_parameter_count_is_the_papers():
    n = count_parameters(ResNet50(n_classes=10))
    assert abs(n - PAPER_RESNET50_PARAMS) / PAPER_RESNET50_PARAMS < 0.03, n


def _torchvision_resnet50():
    try:
        from torchvision.models import resnet50
    except ImportError:
        pytest.skip("torchvision (the [vision] extra) is not installed")
    except RuntimeError as exc:  # a CUDA-linked wheel beside a CPU-only torch
        pytest.skip(f"torchvision does not import beside this torch: {exc}")
    return resnet50(weights=None)


def test_same_layout_and_outputs_as_torchvision():
    tv = _torchvision_resnet50()
    ours = ResNet50()
    a, b = tv.state_dict(), ours.state_dict()
    assert list(a) == list(b) and all(a[k].shape == b[k].shape for k in a)
    ours.load_state_dict(a, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), tv.eval()(x))


def test_weights_file_loads_all_but_fc(tmp_path):
    torch.manual_seed(0)
    source = ResNet50(n_classes=1000)
    path = tmp_path / "resnet50.pth"
    torch.save(source.state_dict(), path)
    target = ResNet50(n_classes=3)
    fc_before = target.fc.weight.detach().clone()
    load_resnet50_weights(target, path)
    for k, v in target.state_dict().items():
        if not k.startswith("fc."):
            assert torch.equal(v, source.state_dict()[k]), k
    assert torch.equal(target.fc.weight, fc_before)


def test_bad_weights_raise_and_none_warns(tmp_path):
    net = ResNet50(n_classes=2)
    with pytest.raises(WeightsError, match="not found"):
        load_resnet50_weights(net, tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="not a torch weights file"):
        load_resnet50_weights(net, tmp_path / "junk.pth")
    torch.save({"conv1.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(WeightsError, match="not a torchvision ResNet50"):
        load_resnet50_weights(net, tmp_path / "other.pth")
    with pytest.warns(RandomWeightsWarning, match="random weights"):
        load_resnet50_weights(net, None)


def _coded_frames(n_clips=3, n_sec=2, n_cand=3, size=4):
    """Frames whose pixels say (clip, second, candidate)."""
    X = np.zeros((n_clips, n_sec, n_cand, size, size, 3), dtype=np.uint8)
    for c in range(n_clips):
        for s in range(n_sec):
            for j in range(n_cand):
                X[c, s, j, ..., 0], X[c, s, j, ..., 1], X[c, s, j, ..., 2] = c, s, j
    X[..., :, 0, 0] += 100  # left column marked, to see flips
    return X


def _decode(x):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    return torch.round(x * std + mean).to(torch.int64)


def test_training_batches_take_one_random_candidate_per_second_and_flip():
    X = _coded_frames()
    ds = _Frames(X, np.array([0, 1, 0]), np.arange(3))
    batches = list(_FrameBatches(ds, batch_size=4, training=True,
                                 rng=np.random.RandomState(0), hflip=0.5))
    pix = torch.cat([_decode(xb) for xb, _ in batches])
    assert len(pix) == 6  # every (clip, second) once per epoch
    seen = sorted((int(p[0, 1, 1]), int(p[1, 1, 1])) for p in pix)
    assert seen == [(c, s) for c in range(3) for s in range(2)]
    flipped = [bool(p[0, 0, -1] >= 100) for p in pix]
    assert any(flipped) and not all(flipped)
    labels = torch.cat([yb for _, yb in batches]).numpy()
    np.testing.assert_array_equal(labels, np.array([0, 1, 0])[[int(p[0, 1, 1]) for p in pix]])
    draws = [int(p[2, 1, 1]) for _ in range(20) for xb, _ in _FrameBatches(
        ds, 6, training=True, rng=np.random.RandomState(_), hflip=0) for p in _decode(xb)]
    assert set(draws) == {0, 1, 2}


def test_inference_batches_use_the_middle_candidate_unflipped():
    X = _coded_frames()
    ds = _Frames(X, np.zeros(3, dtype=np.int64), np.arange(3))
    pix = torch.cat([_decode(xb) for xb, _ in _FrameBatches(ds, batch_size=4)])
    assert [int(p[2, 1, 1]) for p in pix] == [1] * 6
    assert all(int(p[0, 0, 0]) >= 100 for p in pix)
    assert [(int(p[0, 1, 1]), int(p[1, 1, 1])) for p in pix] == [
        (c, s) for c in range(3) for s in range(2)]


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(4, 2, 2, 32, 32, 3), dtype=np.uint8)
    y = np.array(["park", "bus", "park", "bus"])
    clf = ResNet50FrameClassifier(max_epochs=1, batch_size=8, validation_split=0.5,
                                  random_state=0)
    with pytest.warns(RandomWeightsWarning):
        clf.fit(X, y)
    return clf, X


def test_fit_predict_shapes_and_clip_rule(fitted):
    clf, X = fitted
    window = clf.predict_window_proba(X)
    assert window.shape == (4, 2, 2)
    np.testing.assert_allclose(window.sum(-1), 1, rtol=1e-5)
    np.testing.assert_allclose(clf.predict_proba(X), aggregate_windows(window))
    assert list(clf.classes_) == ["bus", "park"] and clf.best_epoch_ == 1
    assert clf.predict(X).shape == (4,)
    assert clf.predict_window_proba(X[:, :, 0]).shape == (4, 2, 2)  # 5-D: one frame/second


def test_joblib_round_trip(fitted, tmp_path):
    clf, X = fitted
    joblib.dump(clf, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.predict_window_proba(X), clf.predict_window_proba(X))
    assert loaded.net_.iterator_train__rng is None


def test_bad_frames_raise():
    clf = ResNet50FrameClassifier(max_epochs=1)
    with pytest.raises(ParameterError, match="uint8"):
        clf.fit(np.zeros((2, 1, 1, 8, 8, 3), dtype=np.float32), [0, 1])
    with pytest.raises(ParameterError, match="n_candidates, H, W, 3"):
        clf.fit(np.zeros((2, 8, 8, 3), dtype=np.uint8), [0, 1])
    with pytest.raises(ParameterError, match="aggregation"):
        ResNet50FrameClassifier(aggregation="mean").fit(np.zeros((2, 1, 1, 8, 8, 3),
                                                                 dtype=np.uint8), [0, 1])


def test_sklearn_conventions():
    est = ResNet50FrameClassifier("w.pth")
    assert clone(est).get_params() == est.get_params()
    check_no_attributes_set_in_init("ResNet50FrameClassifier", est)
    check_parameters_default_constructible("ResNet50FrameClassifier", ResNet50FrameClassifier())


def test_video_frames_follow_frame_indices(media_dir):
    path = media_dir / "bento.mp4"  # 1.1 s, 10 fps, 320x568
    X = VideoFrames(duration=None, candidates_per_second=4).fit_transform([path])
    assert X.shape == (1, 1, 4, 224, 224, 3) and X.dtype == np.uint8
    import imageio_ffmpeg

    from sk_avsc.comparison._frames import _to_uint8_crop

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]
    idx = frame_indices(4, hop_size=0.25, center=True, fps=10.0, duration=1.1)
    assert idx.tolist() == [0, 2, 5, 7]
    for j, i in enumerate(idx):
        np.testing.assert_array_equal(X[0, 0, j], _to_uint8_crop(frames[i]))
    longer = VideoFrames(duration=3, candidates_per_second=1).fit_transform([path])
    assert longer.shape[1] == 3
    np.testing.assert_array_equal(longer[0, 2, 0], _to_uint8_crop(frames[-1]))  # past the end
