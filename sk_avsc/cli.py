"""The ``sk-avsc`` command line: extract, train, evaluate, predict, reproduce, demo, openl3.

This module only parses arguments and calls the library: the commands are the functions
of :mod:`sk_avsc.experiment` (``demo``: :func:`sk_avsc.demo.run_demo`; ``openl3``:
openl3's own command line, :mod:`sk_avsc.openl3`). Library code raises
:class:`~sk_avsc.exceptions.SkAvscError`; :func:`main` turns expected errors into one
line on stderr and exit status 1 (usage errors: 2), with the traceback only under
``--debug``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from ._validation import check_hop_size, check_int, check_real
from ._version import __version__
from .demo import DEFAULT_OUT as DEFAULT_DEMO_OUT
from .demo import run_demo
from .embedders._engine import PRECISIONS
from .exceptions import RandomWeightsWarning, SkAvscError, SkAvscWarning
from .experiment import (
    _MODEL_SAFETY,
    _weights_arg,
    evaluate,
    extract,
    predict,
    reproduce,
    train,
)
from .openl3 import _cli as openl3_cli
from .openl3.frontend import FRONTENDS
from .store import KINDS
from .systems import PAPER_FRONTEND, VALIDATION_SPLITS, available_systems

__all__ = ["main"]


def _argument_type(convert, check):
    """An argparse type: ``convert`` the text, then ``check`` it (a _validation function)."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = text  # the check words the refusal: "must be an int ..., got 'x'"
        try:
            return check(value)
        except ValueError as exc:  # the check's ParameterError
            raise argparse.ArgumentTypeError(str(exc).rstrip(".")) from None

    return parse


_positive_int = _argument_type(int, lambda v: check_int("the value", v, low=1))
_positive_float = _argument_type(
    float, lambda v: check_real("the value", v, low=0, low_open=True))
_hop_seconds = _argument_type(float, lambda v: check_hop_size(v, name="the hop size"))
_seed = _argument_type(int, lambda v: check_int("the seed", v, low=0))


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with each option's default, except where there is none (None, a flag)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sk-avsc", formatter_class=_HelpFormatter,
        description="Audio-visual scene classification with OpenL3 embeddings "
                    "(Wang et al., ICASSP 2021).")
    p.add_argument("--version", action="version", version=f"sk-avsc {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def device_opts(sp):
        sp.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1)")

    def split_opts(sp):
        sp.add_argument("--split", default="auto",
                        choices=VALIDATION_SPLITS,
                        help="validation split by location (auto: the authors' when it "
                             "applies, else by location); none: no validation set")

    def frontend_opts(sp):
        sp.add_argument("--frontend", default=PAPER_FRONTEND, choices=FRONTENDS,
                        help="OpenL3 audio front-end: kapre-0.1.4 is openl3 0.3.1's, whose "
                             "features the paper used; kapre is openl3 0.4.2's default "
                             "(embeddings ~0.23 relative L2 apart)")

    def speed_opts(sp):
        sp.add_argument("--precision", default="float32", choices=PRECISIONS,
                        help="OpenL3 arithmetic: float32 (exact), tf32 (CUDA only) or "
                             "bfloat16 (fast; ~5e-3 relative L2 from float32); a store "
                             "setting, so precisions are never mixed in one store")
        sp.add_argument("--compile", action="store_true",
                        help="torch.compile the OpenL3 networks (faster after tens of "
                             "seconds of compilation)")
        sp.add_argument("--decode-workers", type=_positive_int, default=1,
                        help="threads decoding clips ahead of the networks (default 1)")
        sp.add_argument("--embed-batch-size", type=_positive_int, default=32,
                        help="windows/frames per OpenL3 forward pass (default 32; the "
                             "results do not depend on it; 128-256 on a GPU)")

    def comparison_opts(sp):
        sp.add_argument("--resnet50-weights", default=None, metavar="FILE",
                        help="resnet50/ensemble: a torchvision-format ResNet50 state_dict "
                             "(ImageNet weights); default random weights")
        sp.add_argument("--crop-length", type=_positive_int, default=400,
                        help="mcdonnell/ensemble: training crop in log-mel frames "
                             "(the authors' 400 of 461 for 10-s clips)")

    sp = sub.add_parser("extract", help="embed every clip into a resumable feature store")
    sp.add_argument("root", help="dataset root (holds meta.csv, audio/, video/)")
    sp.add_argument("--out", required=True, help="feature store folder")
    sp.add_argument("--subset", action="append", default=None,
                    help="subset to embed (repeatable; default fold1_train and fold1_evaluate)")
    sp.add_argument("--kind", action="append", default=None, choices=KINDS,
                    help="features to extract (repeatable; default openl3): openl3 into OUT, "
                         "logmel (mcdonnell) and frames (resnet50) into OUT/<kind>")
    sp.add_argument("--weights", default="auto", metavar="auto|random|FOLDER",
                    help="'auto' (the official weights: found locally, else downloaded once), "
                         "'random' (for tests), or a folder holding both official files, "
                         "openl3_audio_mel256_env.h5 and openl3_image_mel256_env.h5 "
                         "(.h5.gz too)")
    sp.add_argument("--hop-size", type=_hop_seconds, default=0.1,
                    help="seconds between windows, as in the paper")
    sp.add_argument("--duration", type=_positive_float, default=None,
                    help="crop/pad clips to this many seconds (TAU: 10; default: each "
                         "clip's own length)")
    frontend_opts(sp)
    sp.add_argument("--n-jobs", type=int, default=None,
                    help="clips embedded in parallel (-1: all cores; default: one at a time)")
    sp.add_argument("--on-missing", choices=("drop", "raise"), default="drop",
                    help="clips whose WAV or MP4 is missing: leave out with a warning, or stop")
    speed_opts(sp)
    device_opts(sp)

    sp = sub.add_parser("train", help="train one of the paper's eight systems")
    sp.add_argument("features", help="features folder made by extract")
    sp.add_argument("--system", required=True, choices=available_systems(),
                    help="the system to train (audio ... proposed: the paper's five; "
                         "mcdonnell, resnet50, ensemble: its comparison systems)")
    sp.add_argument("--out", required=True, help="model file (.joblib), written atomically")
    sp.add_argument("--subset", default="fold1_train", help="stored subset to train on")
    split_opts(sp)
    sp.add_argument("--epochs", type=_positive_int, default=None,
                    help="default: the system's recipe (200; mcdonnell 510; resnet50 30)")
    sp.add_argument("--batch-size", type=_positive_int, default=None,
                    help="default: the system's recipe (64; mcdonnell 32)")
    sp.add_argument("--random-state", type=int, default=0,
                    help="seed of the networks and the validation split")
    comparison_opts(sp)
    device_opts(sp)

    safety = f"Safety of model files: {_MODEL_SAFETY}"
    sp = sub.add_parser("evaluate", help="scores, confusion matrix and class-wise chart",
                        description=f"Score a model on stored features. {safety}")
    sp.add_argument("model", help="model file made by train")
    sp.add_argument("features", help="feature store made by extract")
    sp.add_argument("--subset", default="fold1_evaluate", help="stored subset to test on")
    sp.add_argument("--out", required=True, help="output folder")

    sp = sub.add_parser("predict", help="DCASE 2021 Task 1B submission file",
                        description=f"Write a DCASE 2021 Task 1B submission file. {safety}")
    sp.add_argument("model", help="model file made by train")
    sp.add_argument("inputs", nargs="+", help="a dataset root, or audio files "
                    "(their videos are looked up as ../video/<name>.mp4)")
    sp.add_argument("--out", required=True, help="output .csv (tab-separated)")
    sp.add_argument("--subset", default="fold1_test", help="list to use with a dataset root")
    sp.add_argument("--per", choices=("clip", "segment"), default="clip",
                    help="one row per clip or per 1-s segment")
    sp.add_argument("--n-jobs", type=int, default=None,
                    help="clips embedded in parallel (-1: all cores; default: one at a time)")
    device_opts(sp)

    sp = sub.add_parser("reproduce", help="Table 2: the five systems (--all: eight), side by "
                        "side with the paper")
    sp.add_argument("root", help="dataset root (holds meta.csv, audio/, video/)")
    sp.add_argument("--out", required=True,
                    help="output folder: features/, models/, eval/, results.md, fig2.png")
    sp.add_argument("--quick", action="store_true",
                    help="hop 0.5 s and 30 epochs: minutes instead of hours")
    sp.add_argument("--weights", default="auto", help="as for extract")
    sp.add_argument("--all", action="store_true", dest="all_systems",
                    help="the comparison systems too (mcdonnell, resnet50, ensemble), with "
                         "the paper's parameter counts")
    sp.add_argument("--epochs", type=_positive_int, default=None,
                    help="every system (default: 30 with --quick, else each recipe's)")
    sp.add_argument("--batch-size", type=_positive_int, default=None,
                    help="every system (default: each recipe's)")
    comparison_opts(sp)
    sp.add_argument("--hop-size", type=_hop_seconds, default=None,
                    help="seconds between windows (default: 0.1, the paper's; 0.5 with "
                         "--quick)")
    sp.add_argument("--duration", type=_positive_float, default=None,
                    help="crop/pad clips to this many seconds (TAU: 10; default: each "
                         "clip's own length)")
    frontend_opts(sp)
    split_opts(sp)
    sp.add_argument("--n-jobs", type=int, default=None,
                    help="clips embedded in parallel (-1: all cores; default: one at a time)")
    sp.add_argument("--random-state", type=int, default=0,
                    help="seed of the networks and the validation split")
    speed_opts(sp)
    device_opts(sp)

    sp = sub.add_parser(
        "openl3", help="openl3's own command line: one .npz of embeddings per input file",
        description="openl3 0.4.2's command line (the same options), on sk_avsc's port: "
                    "writes <name>[_<suffix>].npz (embedding, timestamps) for every audio, "
                    "image or video file given or found in a folder given.")
    openl3_cli.add_arguments(sp)

    sp = sub.add_parser(
        "demo", help="the five systems on generated synthetic scenes; results kept",
        description="Train and test the paper's five systems on a generated synthetic "
                    "dataset (10 classes; audio tells some apart, video others) with the "
                    "official OpenL3 weights if they are on this machine, else random ones "
                    "(never downloads). Keeps the data, features, models, results.md and "
                    "fig2.png in --out. A few minutes on 2 CPU cores.")
    sp.add_argument("--out", default=DEFAULT_DEMO_OUT,
                    help="folder for the results, created if needed; it must be empty "
                         "unless --force")
    sp.add_argument("--force", action="store_true",
                    help="replace the files of an earlier demo in a non-empty --out")
    sp.add_argument("--seeds", type=_positive_int, default=3,
                    help="training seeds; the table shows the mean and sd over them")
    sp.add_argument("--random-state", type=_seed, default=0,
                    help="seed of the dataset and of the first training run")
    device_opts(sp)
    sp.add_argument("--size", choices=("full", "tiny"), default="full",
                    help=argparse.SUPPRESS)  # tiny: for tests
    for command in sub.choices.values():  # subparsers do not inherit the formatter
        command.formatter_class = _HelpFormatter
    return p


def main(argv=None) -> int:
    """Run the ``sk-avsc`` command line; return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2)
        return int(exc.code or 0)
    verbose = 0 if args.quiet else 1
    with warnings.catch_warnings():
        # warnings for the user become one line each; random weights are announced once
        warnings.simplefilter("always", SkAvscWarning)
        warnings.simplefilter("ignore", RandomWeightsWarning)
        warnings.showwarning = _show_warning
        return _run(args, verbose)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"sk-avsc: warning: {message}", file=sys.stderr)


def _run(args, verbose) -> int:
    try:
        if args.command == "extract":
            subsets = tuple(args.subset or ("fold1_train", "fold1_evaluate"))
            extract(args.root, args.out, subsets=subsets, kinds=tuple(args.kind or ("openl3",)),
                    weights=_weights_arg(args.weights), hop_size=args.hop_size,
                    duration=args.duration, frontend=args.frontend, device=args.device,
                    precision=args.precision, compile=args.compile,
                    decode_workers=args.decode_workers, batch_size=args.embed_batch_size,
                    n_jobs=args.n_jobs, on_missing=args.on_missing, verbose=verbose)
        elif args.command == "train":
            train(args.features, args.system, args.out, subset=args.subset, split=args.split,
                  epochs=args.epochs, batch_size=args.batch_size, device=args.device,
                  random_state=args.random_state, resnet50_weights=args.resnet50_weights,
                  crop_length=args.crop_length, verbose=verbose)
        elif args.command == "evaluate":
            evaluate(args.model, args.features, args.out, subset=args.subset, verbose=verbose)
        elif args.command == "predict":
            predict(args.model, args.inputs, args.out, subset=args.subset, per=args.per,
                    device=args.device, n_jobs=args.n_jobs, verbose=verbose)
        elif args.command == "reproduce":
            reproduce(args.root, args.out, quick=args.quick, weights=_weights_arg(args.weights),
                      device=args.device, n_jobs=args.n_jobs, epochs=args.epochs,
                      batch_size=args.batch_size,
                      hop_size=args.hop_size, duration=args.duration, split=args.split,
                      random_state=args.random_state, all_systems=args.all_systems,
                      resnet50_weights=args.resnet50_weights, crop_length=args.crop_length,
                      frontend=args.frontend, precision=args.precision,
                      compile=args.compile, decode_workers=args.decode_workers,
                      embed_batch_size=args.embed_batch_size, verbose=verbose)
        elif args.command == "openl3":
            openl3_cli.run(args)
        elif args.command == "demo":
            run_demo(args.out, force=args.force, n_seeds=args.seeds,
                     random_state=args.random_state, device=args.device, size=args.size,
                     verbose=verbose)
    except (SkAvscError, OSError) as exc:
        if args.debug:
            traceback.print_exc()
        print(f"sk-avsc {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"sk-avsc {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
