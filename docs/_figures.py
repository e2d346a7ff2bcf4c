"""Figures of the user guide, drawn with matplotlib when the documentation is built.

``python docs/_figures.py OUTDIR`` draws them outside Sphinx too.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

AUDIO, VIDEO, FUSION, CLIP = "#cfe2f3", "#fce5cd", "#d9ead3", "#eeeeee"


def _box(ax, x, y, w, h, text, color, code=None):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=color, ec="#444444", lw=1.0))
    if code:
        ax.text(x + w / 2, y + h * 0.64, text, ha="center", va="center", fontsize=10.2)
        ax.text(x + w / 2, y + h * 0.27, code, ha="center", va="center", fontsize=9,
                family="monospace", color="#1f4e79")
    else:
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=10.2)


def _arrow(ax, start, end, label=None, offset=(0.0, 0.09)):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=10, lw=1.0,
                                 color="#444444", shrinkA=0, shrinkB=0))
    if label:
        ax.text((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1],
                label, ha="center", va="bottom", fontsize=8.4, color="#555555")


def draw_fusion(path):
    """The paper's two-stage fusion, box by box, with the sk_avsc class of each box."""
    fig, ax = plt.subplots(figsize=(11.5, 4.3))
    ax.set_xlim(0, 11.5)
    ax.set_ylim(0, 4.3)
    ax.axis("off")
    h = 0.8
    ya, yv = 2.9, 0.6  # audio row, video row
    # inputs
    _box(ax, 0.05, ya, 1.35, h, "10-s stereo\naudio, 48 kHz", AUDIO)
    _box(ax, 0.05, yv, 1.35, h, "10-s video\n1280x720, 30 fps", VIDEO)
    # front end
    _box(ax, 1.75, ya, 2.05, h, "OpenL3 audio, 1-s windows\nhop 0.1 s: 96 x 512",
         AUDIO, "OpenL3AudioEmbedder")
    _box(ax, 1.75, yv, 2.05, h, "OpenL3 image, frame at\neach window's centre",
         VIDEO, "OpenL3FrameEmbedder")
    _arrow(ax, (1.4, ya + h / 2), (1.75, ya + h / 2))
    _arrow(ax, (1.4, yv + h / 2), (1.75, yv + h / 2))
    ax.text(2.78, 1.85, "AudioVisualEmbedder\n(n_clips, 96, 1024)", ha="center",
            fontsize=9, family="monospace", color="#1f4e79")
    # z-score
    _box(ax, 4.15, yv, 0.75, ya + h - yv, "z-score\nper\nfeature", CLIP, "ZScore")
    _arrow(ax, (3.8, ya + h / 2), (4.15, ya + h / 2), "512")
    _arrow(ax, (3.8, yv + h / 2), (4.15, yv + h / 2), "512")
    # stage 1
    _box(ax, 5.25, ya, 1.75, h, "audio head\n512-512-128-64-10", AUDIO,
         "SkorchMLPClassifier")
    _box(ax, 5.25, yv, 1.75, h, "video head\n512-512-128-64-10", VIDEO,
         "SkorchMLPClassifier")
    _arrow(ax, (4.9, ya + h / 2), (5.25, ya + h / 2))
    _arrow(ax, (4.9, yv + h / 2), (5.25, yv + h / 2))
    ax.text(6.125, 3.95, "stage 1: trained separately", ha="center", fontsize=9.6,
            style="italic")
    # stage 2
    _box(ax, 7.55, 1.55, 1.65, 1.2, "fusion head\nLinear(256, 128)\nLinear(128, 10)",
         FUSION, "fusion=")
    _arrow(ax, (7.0, ya + h / 2), (7.55, 2.45))
    _arrow(ax, (7.0, yv + h / 2), (7.55, 1.85))
    ax.text(7.36, 2.95, "128", fontsize=8.4, color="#555555")
    ax.text(7.36, 1.25, "128", fontsize=8.4, color="#555555")
    ax.text(7.7, 2.9, "stage 2: on the concatenated\nsecond-Linear outputs (256-d)",
            ha="left", va="bottom", fontsize=9.6, style="italic")
    ax.text(6.7, 0.15, "StackedAVClassifier (stages 1 and 2, per 1-s window)", ha="center",
            fontsize=9, family="monospace", color="#1f4e79")
    # clip decision
    _box(ax, 9.75, 1.55, 1.7, 1.2, "sum of the 96 window\nprobabilities, argmax",
         CLIP, "ClipAggregator")
    _arrow(ax, (9.2, 2.15), (9.75, 2.15), "p(class)")
    ax.text(10.6, 1.2, "scene label per clip", ha="center", fontsize=9.6)
    fig.tight_layout(pad=0.2)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def draw_all(outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    draw_fusion(outdir / "two_stage_fusion.png")


if __name__ == "__main__":
    draw_all(sys.argv[1] if len(sys.argv) > 1 else "_static/generated")
