"""Which packages the wheel holds (everything else is in pyproject.toml).

The shipped models stay in the checkout's top-level `models/` (the design card's place for
them) and go into the wheel as the package `trafficking_ads.shipped_models`, read by
`trafficking_ads.model_dirs.shipped_models_dir`. pyproject.toml cannot both discover
packages and map one of them to another directory, hence these few lines.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=find_namespace_packages(include=["trafficking_ads*"]) + ["trafficking_ads.shipped_models"],
    package_dir={"trafficking_ads.shipped_models": "models"},
)
