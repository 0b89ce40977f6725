"""The installed package is `moredata`; its code lives in the `services/` folder (the layout by service).

pyproject.toml holds the metadata; this file only maps the folder onto the name, which a static
pyproject.toml cannot do for every subpackage: `services/trainer` installs as `moredata.trainer`,
and so on. Nothing is installed under the bare name `services` (it collided with other projects).
"""
from setuptools import find_packages, setup

setup(
    package_dir={"moredata": "services"},
    packages=["moredata"] + ["moredata." + p for p in find_packages("services")],
)
