"""Build hook for the one optional C extension, `dinos._pcm16` (all other metadata: pyproject.toml).

`optional=True`: without a C compiler (or Python headers) the install still succeeds and `dinos.wav`
decodes PCM_16 with numpy instead (bit-identical, slower: BENCHMARKS.md)."""

import sys

from setuptools import Extension, setup

ARGS = [] if sys.platform == "win32" else ["-O3"]  # the loop must vectorise; never -ffast-math (exactness)

setup(ext_modules=[Extension("dinos._pcm16", ["dinos/_pcm16.c"], extra_compile_args=ARGS, optional=True)])
