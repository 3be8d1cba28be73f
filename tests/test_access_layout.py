"""Access rules and loaders are imported from a domain's access.py, and hooks keep courses below learning and media."""

from pathlib import Path

from tests.test_layers import LMS, imported_modules


def _package(path: Path) -> str:
    return path.relative_to(LMS).parts[0]


def test_no_package_imports_another_packages_views():
    offenders = []
    for path in sorted(LMS.rglob("*.py")):
        if path == LMS / "__init__.py":
            continue  # the factory registers the blueprints and connects the hooks
        for line, module in imported_modules(path):
            parts = module.split(".")
            if (len(parts) >= 3 and parts[0] == "lms" and parts[1] != _package(path)
                    and (parts[2] == "views" or parts[2].endswith("_views"))):
                offenders.append(f"{path.relative_to(LMS.parent)}:{line} imports {module}")
    assert offenders == []


def test_courses_imports_neither_learning_nor_media_and_media_not_learning():
    offenders = []
    for package, below in (("courses", {"learning", "media"}), ("media", {"learning"})):
        for path in sorted((LMS / package).rglob("*.py")):
            for line, module in imported_modules(path):
                parts = module.split(".")
                if parts[0] == "lms" and len(parts) > 1 and parts[1] in below:
                    offenders.append(f"{path.relative_to(LMS.parent)}:{line} imports {module}")
    assert offenders == []
