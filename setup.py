"""Installs the top-level folders (model/, services/, ...) as subpackages of `snapmode`."""

from setuptools import find_packages, setup

PARTS = ("model", "datasets", "search", "services", "topologies", "crawlers", "infra", "bench")

packages = ["snapmode", *(f"snapmode.{p}" for p in find_packages("snapmode"))]
for part in PARTS:
    packages += [f"snapmode.{part}", *(f"snapmode.{part}.{p}" for p in find_packages(part))]

setup(
    packages=packages,
    package_dir={"snapmode": "snapmode", **{f"snapmode.{part}": part for part in PARTS}},
    package_data={"": ["*.html", "*.css", "*.js", "*.json", "*.safetensors", "*.onnx", "*.xml", "*.yaml", "*.txt", "*.java"]},
    include_package_data=True,
)
