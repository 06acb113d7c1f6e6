"""Build hook for the one optional C extension, `dinos._pcm16` (all other metadata: pyproject.toml).

`optional=True`: without a C compiler (or Python headers) the install still succeeds and `dinos.wav`
decodes PCM_16 with numpy instead (bit-identical, slower: BENCHMARKS.md). A failed build removes
the module's earlier build output (in `build/` and, for editable installs, next to the sources), so
a binary that no longer matches `dinos/_pcm16.c` never ships in a wheel or keeps running."""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ARGS = [] if sys.platform == "win32" else ["-O3"]  # the loop must vectorise; never -ffast-math (exactness)
HERE = os.path.dirname(os.path.abspath(__file__))


class BuildExt(build_ext):
    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception:
            stale = {self.get_ext_fullpath(ext.name), os.path.join(HERE, self.get_ext_filename(ext.name))}
            for path in stale:
                if os.path.isfile(path):
                    os.remove(path)
            raise


setup(
    ext_modules=[Extension("dinos._pcm16", ["dinos/_pcm16.c"], extra_compile_args=ARGS, optional=True)],
    cmdclass={"build_ext": BuildExt},
)
