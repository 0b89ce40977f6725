"""The wheel holds every module: setup.py maps services/ onto `moredata` with find_packages, which only
sees folders with an __init__.py (a missing one installs fine in editable mode and breaks the image)."""
from conftest import ROOT
from setuptools import find_packages


def test_every_folder_of_modules_is_a_package_in_the_wheel():
    services = ROOT / "services"
    with_modules = {p.parent.relative_to(services).as_posix().replace("/", ".") for p in services.rglob("*.py")
                    if "__pycache__" not in p.parts and p.parent != services}
    assert with_modules - set(find_packages(str(services))) == set()


def test_every_data_file_is_in_the_wheel():
    """Configs and templates the code reads at run time are package data: a folder of them added later
    (configs/train/) is matched by a package-data glob too, or the installed image lacks it."""
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    services = ROOT / "services"
    shipped = {f for pkg, globs in data.items() for g in globs
               for f in (services / pkg.removeprefix("moredata.").replace(".", "/")).glob(g)}  # setuptools' globbing
    for path in [*services.rglob("*.json"), *services.rglob("*.toml")]:
        assert path in shipped, f"{path.relative_to(services)} is not in [tool.setuptools.package-data]"
