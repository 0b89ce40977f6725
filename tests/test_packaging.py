"""The wheel holds every module: setup.py maps services/ onto `moredata` with find_packages, which only
sees folders with an __init__.py (a missing one installs fine in editable mode and breaks the image)."""
from conftest import ROOT
from setuptools import find_packages


def test_every_folder_of_modules_is_a_package_in_the_wheel():
    services = ROOT / "services"
    with_modules = {p.parent.relative_to(services).as_posix().replace("/", ".") for p in services.rglob("*.py")
                    if "__pycache__" not in p.parts and p.parent != services}
    assert with_modules - set(find_packages(str(services))) == set()
