"""faceswap_vfx: high-resolution neural face swapping for visual effects."""

from setuptools import find_packages, setup

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
    package_data={"faceswap_vfx": ["samples/demo_model/*.json",
                                   "samples/demo_model/checkpoints/*.pt"]},
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
    entry_points={"console_scripts": ["faceswap-vfx = faceswap_vfx.cli.main:main"]},
    classifiers=["Programming Language :: Python :: 3", "Topic :: Multimedia :: Graphics"],
)
