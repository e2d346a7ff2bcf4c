"""McDonnellResNet's structure and the recipe pieces (Keras SGD, warm restarts, mixup)."""

import numpy as np
import pytest
import torch
from torch import nn

from sk_avsc.comparison import KerasSGD, McDonnellResNet, MixupStream, count_parameters
from sk_avsc.comparison import warm_restart_lr
from sk_avsc.comparison._mcdonnell import _avg_pool_same
from sk_avsc.comparison._training import swap_index

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: Parameter count of the authors' Keras model for 6 input planes and 10 classes.
AUTHORS_PARAMS = 3.25e6


def test_parameter_count_is_the_authors():
    net = McDonnellResNet(n_channels=6, n_classes=10)
    n = count_parameters(net)
    assert abs(n - AUTHORS_PARAMS) / AUTHORS_PARAMS < 0.03, n
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    # 2 paths x (stem + 4 stages x 2 blocks x 2 units) + 2 head convs, none with a bias
    assert len(convs) == 2 * (1 + 16) + 2 and all(c.bias is None for c in convs)
    assert {c.out_channels for c in convs} == {24, 48, 96, 192, 768, 10}


def test_batchnorms_follow_keras():
    net = McDonnellResNet()
    bns = [(name, m) for name, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(m.momentum == 0.01 and m.eps == 1e-3 for _, m in bns)
    affine = sorted(name for name, m in bns if m.affine)
    assert affine == ["high.stem.bn", "low.stem.bn"]


def test_time_only_strides_and_keras_same_lengths():
    net = McDonnellResNet().eval()
    seen = {}

    def record(module, inputs, output):
        seen["head_in"] = inputs[0].shape

    net.head.register_forward_hook(record)
    with torch.no_grad():
        for frames, expected in ((400, 25), (461, 29), (24, 2)):
            seen.clear()
            assert net(torch.zeros(1, 6, 128, frames)).shape == (1, 10)
            # frequency never downsampled; time halved 4 times, rounded up as 'same' does
            assert seen["head_in"] == (1, 192, 128, expected)


def test_average_pool_excludes_padding_as_keras():
    x = torch.ones(1, 1, 3, 6)
    np.testing.assert_array_equal(_avg_pool_same(x).numpy(), np.ones((1, 1, 3, 3)))
    x = torch.arange(4.0).view(1, 1, 1, 4)
    # even width: TensorFlow pads one zero at the end only: windows [0,1,2] and [2,3,pad]
    expected = [[(0 + 1 + 2) / 3, (2 + 3) / 2]]
    np.testing.assert_allclose(_avg_pool_same(x)[0, 0].numpy(), expected)


def test_warm_restarts_at_epochs_3_7_15_and_510_in_eight_cycles():
    kw = dict(max_lr=0.1, min_lr=1e-5, first_cycle=2, cycle_mult=2)
    starts = [0, 2, 6, 14, 30, 62, 126, 254]  # 0-based = 1-based 1, 3, 7, 15, ...
    for s in starts:
        assert warm_restart_lr(s, 0.0, **kw) == pytest.approx(0.1)
    lengths = np.diff(starts + [510])
    assert list(lengths) == [2, 4, 8, 16, 32, 64, 128, 256]
    for s, length in zip(starts, lengths):
        t = np.linspace(0, length, 50, endpoint=False)
        lrs = [warm_restart_lr(s + int(v), v - int(v), **kw) for v in t]
        assert np.all(np.diff(lrs) < 0)  # decreasing within each cycle
        assert warm_restart_lr(s + length - 1, 0.999, **kw) < 1e-4


def test_keras_sgd_matches_the_keras_update_and_torch_sgd_at_constant_lr():
    torch.manual_seed(0)
    w0 = torch.randn(5)
    grads = [torch.randn(5) for _ in range(4)]
    lrs = [0.1, 0.05, 0.02, 0.01]
    p = nn.Parameter(w0.clone())
    opt = KerasSGD([p], lr=0.1, momentum=0.9, weight_decay=2e-3)
    w, v = w0.clone().double(), torch.zeros(5, dtype=torch.float64)
    for g, lr in zip(grads, lrs):
        opt.param_groups[0]["lr"] = lr
        p.grad = g.clone()
        opt.step()
        v = 0.9 * v - lr * (g.double() + 2e-3 * w)
        w = w + v
    np.testing.assert_allclose(p.detach().numpy(), w.numpy(), rtol=1e-5, atol=1e-6)

    a, b = nn.Parameter(w0.clone()), nn.Parameter(w0.clone())
    ka = KerasSGD([a], lr=0.05, momentum=0.9, weight_decay=1e-3)
    tb = torch.optim.SGD([b], lr=0.05, momentum=0.9, weight_decay=1e-3)
    for g in grads:
        for p_, o in ((a, ka), (b, tb)):
            p_.grad = g.clone()
            o.step()
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def _stream(X, y, **kw):
    params = dict(batch_size=2, alpha=0.4, crop_length=None, swap_prob=0.0,
                  random_state=np.random.RandomState(0))
    params.update(kw)
    return MixupStream(torch.from_numpy(X), torch.from_numpy(y), int(y.max()) + 1, **params)


def test_mixup_mixes_pairs_of_clips_and_labels_with_one_weight():
    n = 8
    X = np.repeat(np.arange(n, dtype=np.float32), 6 * 2 * 5).reshape(n, 6, 2, 5)
    y = np.arange(n) % 4
    stream = _stream(X, y, batch_size=2)
    seen = []
    for _ in range(4):  # 2 batches per permutation of 8 clips (2 x 2 pairs)
        Xb, Yb = stream.next_batch()
        assert Xb.shape == (2, 6, 2, 5) and Yb.shape == (2, 4)
        np.testing.assert_allclose(Yb.sum(1).numpy(), 1, rtol=1e-6)
        for xb, yb in zip(Xb.numpy(), Yb.numpy()):
            assert np.ptp(xb) < 1e-5  # each clip constant: the mix is one number
            seen.append(yb)
    assert all(np.count_nonzero(yb) <= 2 for yb in seen)


def test_crops_are_independent_400_of_461_style_windows_and_swaps_follow_the_plane_pairs():
    X = np.broadcast_to(np.arange(20, dtype=np.float32), (4, 6, 1, 20)).copy()
    X += np.arange(6, dtype=np.float32)[None, :, None, None] * 100  # plane c holds 100 c
    y = np.array([0, 1, 0, 1])
    stream = _stream(X, y, alpha=0.0, crop_length=7, swap_prob=1.0, batch_size=4)
    Xb, Yb = stream.next_batch()
    assert Xb.shape == (4, 6, 1, 7)
    planes = (Xb.numpy()[:, :, 0, 0] // 100).astype(int)
    assert (planes == swap_index(6)).all()  # [1, 0, 3, 2, 5, 4]
    t = Xb.numpy()[:, 0, 0] % 100
    assert (np.diff(t, axis=1) == 1).all()
    # the authors' randint(0, T - L): starts 0 .. T - L - 1
    starts = []
    for _ in range(200):
        starts.extend((stream.next_batch()[0].numpy()[:, 0, 0, 0] % 100).tolist())
    assert min(starts) == 0 and max(starts) == 20 - 7 - 1
    assert sorted(Yb.numpy().max(1).tolist()) == [1.0] * 4  # alpha=0: plain one-hot labels
