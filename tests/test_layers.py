"""The layers keep their direction: the kernel knows no domain, and no package reaches into another's views."""

import ast
import subprocess
import sys
from pathlib import Path

import lms

LMS = Path(lms.__file__).parent
#: The packages of the app that are not domains: the kernel, the site shell, the demo, translations.
NOT_DOMAINS = {"core", "web", "demo", "translations"}
DOMAINS = sorted(p.name for p in LMS.iterdir() if p.is_dir() and (p / "__init__.py").exists()
                 and p.name not in NOT_DOMAINS)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Return every module a file imports, at any depth (function-local imports included), with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def test_there_are_domains_to_keep_out():
    assert {"accounts", "courses", "learning", "cohorts", "certificates"} <= set(DOMAINS)


def test_no_kernel_module_imports_a_domain_or_the_shell():
    offenders = []
    for path in sorted((LMS / "core").rglob("*.py")):
        for line, module in imported_modules(path):
            parts = module.split(".")
            if parts[0] == "lms" and len(parts) > 1 and parts[1] in {*DOMAINS, "web", "demo", "models"}:
                offenders.append(f"{path.relative_to(LMS.parent)}:{line} imports {module}")
    assert offenders == []


def test_importing_the_whole_kernel_loads_no_domain_package():
    modules = sorted(f"lms.core.{p.relative_to(LMS / 'core').with_suffix('').as_posix().replace('/', '.')}"
                     for p in (LMS / "core").rglob("*.py") if p.name != "__init__.py")
    script = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
              + "print(' '.join(sorted({n.split('.')[1] for n in sys.modules if n.startswith('lms.')})))")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=LMS.parent).stdout.split()
    assert "core" in loaded
    assert sorted(set(loaded) & {*DOMAINS, "web", "demo"}) == []


def _package_graph() -> dict[str, set[str]]:
    """Return which packages of lms import which others (function-local imports included)."""
    top = {p.name for p in LMS.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    graph: dict[str, set[str]] = {name: set() for name in top}
    for name in top:
        for path in (LMS / name).rglob("*.py"):
            for _line, module in imported_modules(path):
                parts = module.split(".")
                if parts[0] == "lms" and len(parts) > 1 and parts[1] in top and parts[1] != name:
                    graph[name].add(parts[1])
    return graph


def test_no_two_packages_import_each_other_even_through_others():
    graph = _package_graph()

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                if nxt == goal:
                    return True
                seen.add(nxt)
                todo.append(nxt)
        return False

    assert sorted(name for name in graph if reaches(name, name)) == []
