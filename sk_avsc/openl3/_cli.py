"""openl3's command line: embed audio, image or video files into ``.npz`` files.

``python -m sk_avsc.openl3 audio|image|video INPUTS... [-o DIR] [options]`` takes
openl3 0.4.2's options (``--suffix``, ``--input-repr``, ``--content-type``,
``--audio-embedding-size``, ``--no-audio-centering``, ``--audio-hop-size``,
``--audio-batch-size``, ``--image-embedding-size``, ``--image-batch-size``,
``--audio-frontend`` (here also ``kapre-0.1.4``), ``--overwrite``, ``--quiet``, with
openl3's short forms) and writes one ``.npz`` per input as ``openl3`` does (see
:mod:`~sk_avsc.openl3.files`). An input folder stands for the files directly in it.
Weights are found as :func:`~sk_avsc.openl3.load_audio_model` finds them
(``$SK_AVSC_WEIGHTS_DIR``, the cache, a download).

For another command line: :func:`add_arguments` fills an ``argparse`` parser and
:func:`run` takes its namespace (``run(args)``), or openl3's keyword arguments
(``run(modality, inputs, ...)``, openl3's ``cli.run``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable

from ..exceptions import MediaError, ParameterError, SkAvscError
from .files import process_audio_file, process_image_file, process_video_file
from .frontend import FRONTENDS
from .models import (
    AUDIO_EMBEDDING_SIZES,
    CONTENT_TYPES,
    IMAGE_EMBEDDING_SIZES,
    INPUT_REPRS,
    load_audio_embedding_model,
    load_image_embedding_model,
)
from .openl3_exceptions import raises_openl3_errors

__all__ = ["positive_float", "positive_int", "get_file_list", "add_arguments", "parse_args",
           "run", "main"]

_DESCRIPTION = (
    "Extracts audio and image embeddings from the OpenL3 models (Cramer et al. 2019, based "
    "on Look, Listen and Learn, Arandjelovic and Zisserman 2017), as openl3 0.4.2's "
    "command line; one .npz file per input.")


def positive_float(value) -> float:
    """An argparse type accepting only positive floats (openl3's)."""
    try:
        fvalue = float(value)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"Expected a positive float, error message: {exc}")
    if not fvalue > 0:
        raise argparse.ArgumentTypeError("Expected a positive float")
    return fvalue


def positive_int(value) -> int:
    """An argparse type accepting only positive ints (openl3's; ``5.0`` is accepted)."""
    try:
        ivalue = int(value)
    except (ValueError, TypeError) as exc:
        raise argparse.ArgumentTypeError(f"Expected a positive int, error message: {exc}")
    if ivalue <= 0:
        raise argparse.ArgumentTypeError("Expected a positive int")
    return ivalue


@raises_openl3_errors
def get_file_list(input_list) -> list[str]:
    """The files of a list of files and folders (a folder gives the files directly in it).

    Files given directly become absolute paths; a folder's files are joined to the folder
    as given, in name order (openl3 keeps ``os.listdir`` order).

    Raises
    ------
    argparse.ArgumentTypeError
        If ``input_list`` is a string or not iterable.
    OpenL3Error
        If an item does not exist (also a :class:`~sk_avsc.exceptions.MediaError`).
    """
    if not isinstance(input_list, Iterable) or isinstance(input_list, (str, bytes)):
        raise argparse.ArgumentTypeError("input_list must be iterable (and not string)")
    files = []
    for item in input_list:
        item = os.fspath(item)
        if os.path.isfile(item):
            files.append(os.path.abspath(item))
        elif os.path.isdir(item):
            for name in sorted(os.listdir(item)):
                path = os.path.join(item, name)
                if os.path.isfile(path):
                    files.append(path)
        else:
            raise MediaError(f"Could not find {item}: no such file or folder.")
    return files


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add openl3's positional arguments and options to ``parser``; return it."""
    parser.add_argument("modality", choices=["audio", "image", "video"],
                        help="Modality of the inputs: audio, image, or video.")
    parser.add_argument("inputs", nargs="+",
                        help="Files to process, or folders whose files to process.")
    parser.add_argument("--output-dir", "-o", default=None,
                        help="Folder of the output files; default: each input's folder.")
    parser.add_argument("--suffix", "-x", default=None,
                        help="String appended to the output names (<name>_<suffix>.npz); "
                             "default: none.")
    parser.add_argument("--input-repr", "-i", default="mel256", choices=list(INPUT_REPRS),
                        help="Time-frequency input representation of the audio model.")
    parser.add_argument("--content-type", "-c", default="music", choices=list(CONTENT_TYPES),
                        help="Content type the embedding model was trained on.")
    parser.add_argument("--audio-embedding-size", "-as", type=int, default=6144,
                        choices=list(AUDIO_EMBEDDING_SIZES),
                        help="Audio embedding dimensionality.")
    parser.add_argument("--no-audio-centering", "-n", action="store_true", default=False,
                        help="Do not pad the audio: timestamps are window starts, not "
                             "centres.")
    parser.add_argument("--audio-hop-size", "-t", type=positive_float, default=0.1,
                        help="Hop between audio windows in seconds.")
    parser.add_argument("--audio-batch-size", "-ab", type=positive_int, default=32,
                        help="Batch size of the audio model.")
    parser.add_argument("--image-embedding-size", "-is", type=int, default=8192,
                        choices=list(IMAGE_EMBEDDING_SIZES),
                        help="Image embedding dimensionality.")
    parser.add_argument("--image-batch-size", "-ib", type=positive_int, default=32,
                        help="Batch size of the image model.")
    parser.add_argument("--audio-frontend", "-af", default="kapre", choices=list(FRONTENDS),
                        help="Audio front-end: kapre (openl3 0.4.2's), kapre-0.1.4 "
                             "(openl3 0.3.1's, the paper's), librosa.")
    parser.add_argument("--overwrite", "-ow", action="store_true",
                        help="Overwrite existing output files.")
    parser.add_argument("--quiet", "-q", action="store_true", default=False,
                        help="Suppress all non-error messages to stdout.")
    return parser


def parse_args(args):
    """Parse openl3's command line ``args`` (a list of strings) into a namespace."""
    # "python -m sk_avsc.openl3" rather than argparse's "__main__.py"
    prog = "python -m sk_avsc.openl3" if sys.argv[0].endswith("__main__.py") else None
    parser = argparse.ArgumentParser(
        prog=prog, description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    return add_arguments(parser).parse_args(args)


@raises_openl3_errors
def run(modality, inputs=None, output_dir=None, suffix=None,
        input_repr="mel256", content_type="music",
        audio_embedding_size=6144, audio_center=True, audio_hop_size=0.1,
        audio_batch_size=32, image_embedding_size=8192,
        image_batch_size=32, audio_frontend="kapre",
        overwrite=False, verbose=False):
    """Embed and save the given inputs, as openl3's ``cli.run``.

    Parameters
    ----------
    modality : {"audio", "image", "video"} or argparse.Namespace
        The inputs' modality; or a namespace from a parser filled by :func:`add_arguments`
        (then every other argument comes from it, and ``verbose`` is ``not args.quiet``).
    inputs : str or list of str
        A file, or files and folders (see :func:`get_file_list`).
    output_dir, suffix, input_repr, content_type, audio_embedding_size, audio_center,
    audio_hop_size, audio_batch_size, image_embedding_size, image_batch_size,
    audio_frontend, overwrite, verbose
        As in :func:`~sk_avsc.openl3.process_video_file` and its siblings.

    Returns
    -------
    status : int
        0.

    Raises
    ------
    SystemExit
        With code -1 when no input file is found (after printing why), as openl3.
    OpenL3Error
        Invalid inputs or modality, or an error while embedding.
    """
    if isinstance(modality, argparse.Namespace):
        args = modality
        return run(args.modality, args.inputs, output_dir=args.output_dir, suffix=args.suffix,
                   input_repr=args.input_repr, content_type=args.content_type,
                   audio_embedding_size=args.audio_embedding_size,
                   audio_center=not args.no_audio_centering,
                   audio_hop_size=args.audio_hop_size,
                   audio_batch_size=args.audio_batch_size,
                   image_embedding_size=args.image_embedding_size,
                   image_batch_size=args.image_batch_size,
                   audio_frontend=args.audio_frontend, overwrite=args.overwrite,
                   verbose=not args.quiet)
    if isinstance(inputs, (str, os.PathLike)):
        files = [os.fspath(inputs)]
    elif isinstance(inputs, Iterable):
        files = get_file_list(inputs)
    else:
        raise ParameterError(f"Invalid input: {inputs!r}; pass files or folders.")
    if modality not in ("audio", "image", "video"):
        raise ParameterError(f"Invalid modality: {modality!r}; pass audio, image or video.")
    if not files:
        print(f"openl3: No files found in {inputs}. Aborting.")
        sys.exit(-1)
    common = dict(output_dir=output_dir, suffix=suffix, overwrite=overwrite, verbose=verbose)
    if modality == "audio":
        model = load_audio_embedding_model(input_repr, content_type, audio_embedding_size,
                                           frontend=audio_frontend)
        process_audio_file(files, model=model, input_repr=input_repr, center=audio_center,
                           hop_size=audio_hop_size, batch_size=audio_batch_size,
                           frontend=audio_frontend, **common)
    elif modality == "image":
        model = load_image_embedding_model(input_repr, content_type, image_embedding_size)
        process_image_file(files, model=model, batch_size=image_batch_size, **common)
    else:
        audio_model = load_audio_embedding_model(input_repr, content_type,
                                                 audio_embedding_size, frontend=audio_frontend)
        image_model = load_image_embedding_model(input_repr, content_type, image_embedding_size)
        process_video_file(files, audio_model=audio_model, image_model=image_model,
                           input_repr=input_repr, audio_center=audio_center,
                           audio_hop_size=audio_hop_size, audio_batch_size=audio_batch_size,
                           image_batch_size=image_batch_size, audio_frontend=audio_frontend,
                           **common)
    if verbose:
        print("openl3: Done!")
    return 0


def main(argv=None) -> int:
    """``python -m sk_avsc.openl3``: parse ``argv`` (default ``sys.argv[1:]``) and run.

    Returns 0, or 1 after printing an sk_avsc error's message to stderr.
    """
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return run(args)
    except SkAvscError as exc:
        print(f"openl3: error: {exc}", file=sys.stderr)
        return 1
