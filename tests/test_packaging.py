"""The wheel holds every module: the packages are found by setuptools' find_packages, which only sees
folders with an __init__.py (a missing one installs fine in editable mode and breaks the image)."""
import tomllib

from conftest import ROOT
from setuptools import find_packages

PACKAGES = ("moredata", "services")


def test_every_folder_of_modules_is_a_package_in_the_wheel():
    found = set(find_packages(str(ROOT), include=[f"{p}*" for p in PACKAGES]))
    for top in PACKAGES:
        with_modules = {p.parent.relative_to(ROOT).as_posix().replace("/", ".") for p in (ROOT / top).rglob("*.py")
                        if "__pycache__" not in p.parts}
        assert with_modules - found == set()


def test_the_wheel_includes_exactly_the_two_packages():
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = set(find_packages(str(ROOT), include=find["include"]))
    assert {p.split(".")[0] for p in packages} == set(PACKAGES)


def test_every_data_file_is_in_the_wheel():
    """Configs and templates the code reads at run time are package data: a folder of them added later
    (configs/train/) is matched by a package-data glob too, or the installed image lacks it."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {f for pkg, globs in data.items() for g in globs
               for f in (ROOT / pkg.replace(".", "/")).glob(g)}  # setuptools' globbing
    for top in PACKAGES:
        for path in [*(ROOT / top).rglob("*.json"), *(ROOT / top).rglob("*.toml")]:
            assert path in shipped, f"{path.relative_to(ROOT)} is not in [tool.setuptools.package-data]"
