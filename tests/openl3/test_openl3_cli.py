"""openl3's command line (``python -m sk_avsc.openl3``): openl3 0.4.2's tests/test_cli.py
behaviours, with the reference weights under the official names."""

import argparse
import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest

import sk_avsc.openl3 as openl3
from sk_avsc.exceptions import MediaError
from sk_avsc.openl3 import _cli
from sk_avsc.openl3.cli import get_file_list, main, parse_args, positive_float, positive_int, run
from sk_avsc.openl3.openl3_exceptions import OpenL3Error

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_cli_namespace_is_the_implementation():
    assert run is _cli.run and main is _cli.main and openl3.cli.parse_args is _cli.parse_args


def test_positive_float():
    assert positive_float(5) == 5.0 and type(positive_float(5)) is float
    assert positive_float("1.3") == 1.3
    for value in (-5, -1.0, 0, None, "hello", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_float(value)


def test_positive_int():
    for value in (5, 5.0, "5"):
        assert positive_int(value) == 5 and type(positive_int(value)) is int
    for value in (-5, -1.0, 0, None, "hello"):
        with pytest.raises(argparse.ArgumentTypeError):
            positive_int(value)


def test_get_file_list(media_dir, tmp_path):
    a, b = str(media_dir / "chirp_44k.wav"), str(media_dir / "chirp_1s.wav")
    with pytest.raises(argparse.ArgumentTypeError):
        get_file_list(a)
    assert get_file_list([a, b]) == [a, b]
    in_folder = get_file_list([str(media_dir)])
    assert in_folder == sorted(str(p) for p in media_dir.iterdir() if p.is_file())
    assert len(get_file_list([str(media_dir), a])) == len(in_folder) + 1
    (tmp_path / "sub").mkdir()  # folders inside a folder are not entered
    (tmp_path / "x.wav").write_bytes(b"")
    assert get_file_list([str(tmp_path)]) == [str(tmp_path / "x.wav")]
    relative = os.path.relpath(a)
    assert get_file_list([relative]) == [os.path.abspath(relative)]
    with pytest.raises(OpenL3Error) as info:
        get_file_list(["/fake/path/to/file"])
    assert isinstance(info.value, MediaError)


def test_parse_args_defaults_and_all_options():
    args = parse_args(["audio", "a.wav"])
    assert (args.modality, args.inputs, args.output_dir, args.suffix) == (
        "audio", ["a.wav"], None, None)
    assert (args.input_repr, args.content_type, args.audio_embedding_size) == (
        "mel256", "music", 6144)
    assert args.no_audio_centering is False and args.audio_hop_size == 0.1
    assert (args.audio_batch_size, args.image_embedding_size, args.image_batch_size) == (
        32, 8192, 32)
    assert args.audio_frontend == "kapre" and not args.overwrite and not args.quiet

    args = parse_args(["video", "b.mp4", "c.mp4", "-o", "/output/dir", "--suffix", "suffix",
                       "--input-repr", "linear", "--content-type", "env",
                       "--audio-embedding-size", "512", "--no-audio-centering",
                       "--audio-hop-size", "0.5", "--image-embedding-size", "512",
                       "--audio-batch-size", "4", "--image-batch-size", "2",
                       "--audio-frontend", "kapre-0.1.4", "--overwrite", "--quiet"])
    assert args.inputs == ["b.mp4", "c.mp4"] and args.output_dir == "/output/dir"
    assert (args.suffix, args.input_repr, args.content_type) == ("suffix", "linear", "env")
    assert (args.audio_embedding_size, args.image_embedding_size) == (512, 512)
    assert args.no_audio_centering and args.audio_hop_size == 0.5
    assert (args.audio_batch_size, args.image_batch_size) == (4, 2)
    assert args.audio_frontend == "kapre-0.1.4" and args.overwrite and args.quiet

    short = parse_args(["image", "d.png", "-x", "s", "-i", "mel128", "-c", "env", "-as", "512",
                        "-n", "-t", "0.25", "-ab", "8", "-is", "512", "-ib", "3", "-af",
                        "librosa", "-ow", "-q"])
    assert (short.suffix, short.input_repr, short.audio_hop_size, short.image_batch_size,
            short.audio_frontend) == ("s", "mel128", 0.25, 3, "librosa")


@pytest.mark.parametrize("argv", [
    ["sound", "a.wav"],
    ["audio"],
    ["audio", "a.wav", "--input-repr", "mel64"],
    ["audio", "a.wav", "--audio-embedding-size", "128"],
    ["audio", "a.wav", "--audio-hop-size", "0"],
    ["audio", "a.wav", "--audio-batch-size", "-1"],
    ["audio", "a.wav", "--audio-frontend", "tf"],
])
def test_parse_args_refuses_bad_options(argv, capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(argv)
    assert info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_run_bad_inputs_and_modality(tmp_path, media_dir, capsys):
    for value in (None, 5, 1.0):
        with pytest.raises(OpenL3Error):
            run(value, value)
    with pytest.raises(SystemExit) as info:
        run("audio", [str(tmp_path)])
    assert info.value.code == -1
    assert capsys.readouterr().out == f"openl3: No files found in {[str(tmp_path)]}. Aborting.\n"
    with pytest.raises(OpenL3Error, match="modality"):
        run("invalid", str(media_dir / "chirp_44k.wav"), output_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []


def _reference_embedding(weights_dir, media_dir, name, **kwargs):
    model = openl3.load_audio_model(weights_dir / "openl3_audio_mel128_env.h5", "mel128", "env",
                                    512, frontend=kwargs.pop("frontend", "kapre"))
    from sk_avsc.embedders import read_audio

    return openl3.get_audio_embedding(*read_audio(media_dir / name), model=model,
                                      verbose=False, frontend=model.frontend, **kwargs)


_AUDIO_OPTIONS = ["-i", "mel128", "-c", "env", "-as", "512"]


def test_main_writes_one_npz_per_input(official_weights, media_dir, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    assert main(["audio", str(media_dir / "chirp_1s.wav"), str(media_dir / "chirp_44k.wav"),
                 "--output-dir", str(out), *_AUDIO_OPTIONS, "-t", "0.5", "-x", "emb"]) == 0
    stdout = capsys.readouterr().out
    assert "openl3: Done!" in stdout
    assert sorted(os.listdir(out)) == ["chirp_1s_emb.npz", "chirp_44k_emb.npz"]
    for name in ("chirp_1s", "chirp_44k"):
        expected, ts = _reference_embedding(official_weights, media_dir, f"{name}.wav",
                                            hop_size=0.5)
        with np.load(out / f"{name}_emb.npz") as data:
            assert sorted(data.files) == ["embedding", "timestamps"]
            np.testing.assert_array_equal(data["embedding"], expected)
            np.testing.assert_array_equal(data["timestamps"], ts)
    # --quiet prints nothing; existing outputs are skipped unless --overwrite
    before = (out / "chirp_1s_emb.npz").read_bytes()
    (out / "chirp_1s_emb.npz").write_bytes(b"keep")
    assert main(["audio", str(media_dir / "chirp_1s.wav"), "-o", str(out), *_AUDIO_OPTIONS,
                 "-t", "0.5", "-x", "emb", "-q"]) == 0
    assert (out / "chirp_1s_emb.npz").read_bytes() == b"keep"
    assert "skipping" in capsys.readouterr().out  # openl3 prints it even when quiet
    assert main(["audio", str(media_dir / "chirp_1s.wav"), "-o", str(out), *_AUDIO_OPTIONS,
                 "-t", "0.5", "-x", "emb", "-q", "--overwrite"]) == 0
    assert (out / "chirp_1s_emb.npz").read_bytes() == before
    assert capsys.readouterr().out == ""


def test_main_no_centering_and_frontend(official_weights, media_dir, tmp_path):
    assert main(["audio", str(media_dir / "chirp_1s.wav"), "-o", str(tmp_path), "-q",
                 *_AUDIO_OPTIONS, "-n", "-t", "0.5", "--audio-frontend", "kapre-0.1.4"]) == 0
    expected, ts = _reference_embedding(official_weights, media_dir, "chirp_1s.wav",
                                        hop_size=0.5, center=False, frontend="kapre-0.1.4")
    with np.load(tmp_path / "chirp_1s.npz") as data:
        np.testing.assert_array_equal(data["embedding"], expected)
        np.testing.assert_array_equal(data["timestamps"], ts)


@pytest.mark.filterwarnings("ignore:audio lasts:sk_avsc.openl3.openl3_warnings.OpenL3Warning")
def test_main_image_and_video(official_weights, media_dir, tmp_path):
    assert main(["image", str(media_dir / "daisy.jpg"), "-o", str(tmp_path), "-q",
                 "-is", "512"]) == 0
    with np.load(tmp_path / "daisy.npz") as data:
        assert data.files == ["embedding"] and data["embedding"].shape == (1, 512)
    with patch("sys.argv", ["openl3", "video", str(media_dir / "bento.mp4"), "-o",
                            str(tmp_path), "-q", *_AUDIO_OPTIONS, "-is", "512", "-x", "v"]):
        assert main() == 0  # argv=None reads sys.argv, as openl3's main()
    for kind in ("audio", "image"):
        with np.load(tmp_path / f"bento_{kind}_v.npz") as data:
            assert sorted(data.files) == ["embedding", "timestamps"]
            assert data["embedding"].shape[1] == 512


def test_main_reports_errors(official_weights, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_text("This is not an audio file.")
    assert main(["audio", str(bad), "-q", *_AUDIO_OPTIONS]) == 1
    err = capsys.readouterr().err
    assert err.startswith("openl3: error: ") and "bad.wav" in err
    assert not (tmp_path / "bad.npz").exists()


def test_add_arguments_and_run_namespace(official_weights, media_dir, tmp_path):
    # how another command line (sk-avsc openl3 ...) uses it
    parser = argparse.ArgumentParser(prog="sk-avsc")
    sub = parser.add_subparsers(dest="command")
    _cli.add_arguments(sub.add_parser("openl3"))
    args = parser.parse_args(["openl3", "audio", str(media_dir / "chirp_1s.wav"), "-o",
                              str(tmp_path), "-q", *_AUDIO_OPTIONS, "-t", "0.5"])
    assert _cli.run(args) == 0
    assert (tmp_path / "chirp_1s.npz").is_file()


def test_python_dash_m(official_weights, media_dir, tmp_path):
    root = Path(openl3.__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "sk_avsc.openl3", "audio", str(media_dir / "chirp_1s.wav"),
         "-o", str(tmp_path), *_AUDIO_OPTIONS, "-t", "0.5"],
        capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "openl3: Saved" in proc.stdout
    with np.load(tmp_path / "chirp_1s.npz") as data:
        expected, _ = _reference_embedding(official_weights, media_dir, "chirp_1s.wav",
                                           hop_size=0.5)
        # another process (thread count): float rounding only
        error = np.linalg.norm(data["embedding"] - expected) / np.linalg.norm(expected)
        assert error < 1e-5


def test_main_missing_input(capsys):
    assert main(["audio", "/no/such.wav"]) == 1
    assert "Could not find /no/such.wav" in capsys.readouterr().err


def test_sk_avsc_openl3_subcommand_is_the_same_command(official_weights, media_dir, tmp_path):
    # `sk-avsc openl3 ...` and `python -m sk_avsc.openl3 ...` write the same files
    from sk_avsc.cli import main as sk_avsc_main

    argv = ["audio", str(media_dir / "chirp_1s.wav"), *_AUDIO_OPTIONS, "-t", "0.5", "-q"]
    assert sk_avsc_main(["openl3", *argv, "--output-dir", str(tmp_path / "a")]) == 0
    assert main([*argv, "--output-dir", str(tmp_path / "b")]) == 0
    with np.load(tmp_path / "a" / "chirp_1s.npz") as a, \
            np.load(tmp_path / "b" / "chirp_1s.npz") as b:
        np.testing.assert_array_equal(a["embedding"], b["embedding"])
        np.testing.assert_array_equal(a["timestamps"], b["timestamps"])
        assert a["embedding"].ndim == 2 and len(a["timestamps"]) == len(a["embedding"])
