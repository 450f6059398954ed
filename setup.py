"""faceswap_vfx: high-resolution neural face swapping for visual effects."""

import glob
import os
import shutil

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py


class BuildPyWithShaders(build_py):
    """Copies the blend kernels of the top-level ``shaders/`` into the built package as
    ``faceswap_vfx/shaders/``, so a wheel carries them (``faceswap_vfx/nuke/shaders.py``
    reads that copy when installed, ``shaders/`` in a checkout)."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "faceswap_vfx", "shaders")
        os.makedirs(target, exist_ok=True)
        for path in sorted(glob.glob("shaders/*.glsl") + glob.glob("shaders/*.blink")
                           + ["shaders/README.md"]):
            shutil.copy2(path, target)


class OptionalBuildExt(build_ext):
    """Builds the optional C kernels (plain C libraries that faceswap_vfx/core/native.py
    loads with ctypes) when it can: without a C compiler, or when one fails, the install
    goes on and that code runs on torch."""

    def build_extension(self, ext):
        if self.compiler.compiler_type == "msvc":
            ext.extra_compile_args = ["/O2", "/fp:precise"]
        else:  # exact float math: no -ffast-math, no FMA contraction (the torch path's sums)
            ext.extra_compile_args = ["-O3", "-std=c99", "-fno-fast-math", "-ffp-contract=off",
                                      "-pthread"]
            ext.extra_link_args = ["-pthread"]
        try:
            super().build_extension(ext)
        except Exception as error:  # noqa: BLE001 - any failure leaves the torch path
            self.warn(f"the optional C kernel {ext.name} was not built ({error}); "
                      "its torch path will run instead")

    def get_export_symbols(self, ext):
        return []  # no Python module init to export: the library is loaded with ctypes


setup(
    name="faceswap_vfx",
    version="0.1.0",
    description="High-resolution neural face swapping for VFX (after Naruniec et al. 2020)",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["faceswap_vfx", "faceswap_vfx.*"]),
    include_package_data=True,
    # the demo's small comb model, trained on the bundled portraits (bench/train_portraits.py)
    # and the operator lists of the libtorch releases Nuke embeds (model/nuke_targets.py)
    package_data={"faceswap_vfx": ["samples/demo_model/*.json",
                                   "samples/demo_model/checkpoints/*.pt",
                                   "model/libtorch_ops/*.txt"]},
    install_requires=[
        "torch>=2.1",  # the README pins torch==2.13.0: an unpinned install pulls several GB
        "numpy>=1.24",
        "scipy>=1.10",
        "OpenImageIO>=3.0",  # bundles OpenColorIO (ocio://default) and OpenEXR
        "OpenEXR>=3.2",
        "dlib-bin>=19.24; sys_platform == 'linux' and platform_machine == 'x86_64'",
        "dlib>=19.24; sys_platform != 'linux' or platform_machine != 'x86_64'",
        # the 68/5-point shape predictors and the MMOD detector (found by file, never imported)
        "face_recognition_models>=0.3",
        "scikit-image>=0.21",  # polygon rasterisation, SSIM reference
        "PySide6-Essentials>=6.5",
        "tqdm>=4.60",
        "matplotlib>=3.7",  # grace_hopper.jpg, a public-domain portrait for the demo
        "tensorboard>=2.14",  # training scalars and previews (torch.utils.tensorboard)
    ],
    extras_require={
        "test": [
            "pytest>=7",
            "pytest-qt>=4",
            "ruff>=0.4",
            "pytorch-msssim>=1.0",  # a reference for the SSIM losses
            "moderngl>=5.8",  # headless GL for the GLSL blend test (tests/test_shaders_gl.py)
            "opencue-pyoutline>=1.37",  # the OpenCue job tests (tests/test_farm_opencue.py)
            "vermin>=1.6",  # the Python of Nuke imports (tests/test_nuke_host_python.py)
        ],
        # render-farm submission to OpenCue (faceswap-vfx submit --farm opencue); Deadline and
        # local runs need nothing more
        "farm": [
            "opencue-pyoutline>=1.37",
            "opencue-pycue>=1.37",
        ],
        # the comparison in bench/blend_vs_opencv.py (cv2.detail.MultiBandBlender)
        "bench": [
            "opencv-python-headless>=4.8",
        ],
    },
    # compiled CPU kernels (core/native.py): optional, their torch paths run without them
    ext_modules=[
        Extension("faceswap_vfx.core._mbb_kernel",  # the multi-band blend
                  sources=["faceswap_vfx/core/_mbb_kernel.c",
                           "faceswap_vfx/core/_mbb_kernel_avx2.c"],
                  depends=sorted(glob.glob("faceswap_vfx/core/_mbb/*.h")), optional=True),
        Extension("faceswap_vfx.core._warp_kernel",  # the Keys bicubic warp
                  sources=["faceswap_vfx/core/_warp_kernel.c"], optional=True),
    ],
    cmdclass={"build_ext": OptionalBuildExt, "build_py": BuildPyWithShaders},
    entry_points={"console_scripts": ["faceswap-vfx = faceswap_vfx.cli.main:main"]},
    classifiers=["Programming Language :: Python :: 3", "Topic :: Multimedia :: Graphics"],
)
