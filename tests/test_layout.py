"""The house by feature (README "Development"): arrows run one way, every module says what it is for, no
room grows past what one person reads in a sitting. These tests read the code; they run nothing of it."""

import ast
import subprocess
import sys
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
PACKAGES = ("projects", "actions", "hebei_projects")
MAX_LINES = 500

# The only imports of the project's own modules made inside functions, each because Django's app loading
# demands it: the module is imported before the models exist.
LAZY_IMPORTS_ALLOWED = {
    ("projects/apps.py", "ready"): "AppConfig.ready runs once the models are loaded; apps.py is imported before",
    ("projects/security/sites.py", "has_permission"): "the admin site class is imported while apps load (settings name it)",
}


def _modules():
    for package in PACKAGES:
        for path in sorted((BASE / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def _relative(path):
    return path.relative_to(BASE).as_posix()


def test_imports_run_one_way_and_no_package_holds_a_cycle():
    """The contracts in .importlinter: faces over capabilities over shared reads over models over the
    domain core; the domain imports no model; no two modules of any package import each other in a
    loop. Imports inside functions count too."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint_imports), "--no-cache", "--config", str(BASE / ".importlinter")],
                            cwd=BASE, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout, result.stdout


def test_the_project_imports_its_own_modules_inside_functions_only_where_django_demands_it():
    found = set()
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module or ""]
                elif isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                else:
                    continue
                if any(name.split(".")[0] in PACKAGES for name in names):
                    found.add((_relative(path), function.name))
    assert found - set(LAZY_IMPORTS_ALLOWED) == set()


def test_every_module_says_what_it_is_for_and_none_is_too_long():
    undocumented, too_long = [], []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if text.strip() and ast.get_docstring(ast.parse(text)) is None:
            undocumented.append(_relative(path))
        if text.count("\n") > MAX_LINES:
            too_long.append((_relative(path), text.count("\n")))
    assert undocumented == []
    assert too_long == []


def test_the_wsgi_application_keeps_what_it_loaded_out_of_the_collectors_reach():
    """A served process moves what it loaded to serve (apps, models, the URLconf) out of the garbage collector's
    reach: full collections walked it all in the middle of requests (the cold dashboard's slowest tenth)."""
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, hebei_projects.wsgi; print(gc.get_freeze_count())"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent,
    ).stdout
    assert int(frozen) > 100_000, frozen
