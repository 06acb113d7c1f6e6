"""`dinos env`: the versions a bug report needs."""

from __future__ import annotations

HELP = "print the versions of dinos, Python and the libraries it uses (for bug reports)"

PACKAGES = ("datasets", "soundfile", "numpy", "pandas", "pyarrow", "soxr", "librosa", "huggingface_hub", "pydantic",
            "scikit-learn", "torch", "safetensors", "matplotlib")


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def environment() -> dict[str, str]:
    """Versions of dinos, Python, libsndfile and the packages dinos uses ('not installed' where absent)."""
    import platform
    from importlib import metadata

    import dinos

    out = {"dinos": dinos.__version__, "python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    try:
        import soundfile

        out["libsndfile"] = soundfile.__libsndfile_version__
    except (ImportError, AttributeError, OSError):
        out["libsndfile"] = "unavailable"
    from dinos import wav

    out["PCM_16 scaling"] = wav.scaling()
    return out


def run(args) -> int:
    import json

    env = environment()
    if args.json:
        print(json.dumps(env, indent=2))
    else:
        width = max(map(len, env))
        for k, v in env.items():
            print(f"{k:<{width}}  {v}")
    return 0
