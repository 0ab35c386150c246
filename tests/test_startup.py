"""Start-up: what `showcase --help`, `status` and `render` import (a command imports only what
it uses), checked in a fresh interpreter; and the schema head known without Alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import shtab

from aggregator import (
    cli_figures_args,
    cli_help,
    cli_install_args,
    cli_setup_args,
    context,
    cycles,
    init,
    install,
    render,
    report,
    runs,
    store,
)

# Runs the command line in this process, then names every module it imported.
_WRAPPER = """
import sys
from aggregator.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("\\n".join(sorted(sys.modules)), file=sys.stderr)
"""


def imported(args: list[str], cwd: Path | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stderr.splitlines())


def heavy(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(name for name in names if name in modules)


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [sys.executable, "-m", "aggregator", "demo", "--directory", str(directory)],
        check=True,
        capture_output=True,
    )
    return directory


NOT_FOR_HELP = (
    "shtab",
    "sqlalchemy",
    "alembic",
    "babel",
    "jinja2",
    "PIL",
    "googleapiclient",
    "httplib2",
    "requests",
    "argon2",
    "starlette",
    "aggregator.store",
    "aggregator.jobs",
    "aggregator.install",
    "aggregator.init",
)
# On an SQLite file whose schema is current, `status` and `render` read it with sqlite3 alone
# (`reads.py`): SQLAlchemy's import costs more than the whole of `status` may take.
NOT_FOR_STATUS = (
    "sqlalchemy",
    "aggregator.store",
    "aggregator.jobs",
    "jinja2",
    "apscheduler",
    "alembic",
    "PIL",
    "googleapiclient",
    "httplib2",
    "requests",
    "argon2",
    "starlette",
)
NOT_FOR_RENDER = (
    "aggregator.install",
    "aggregator.init",
    "rapidfuzz",  # the grouping comes from the cache of the demo's render
    "importlib.resources",  # the packaged templates are found beside the package
    "sqlalchemy",
    "aggregator.store",
    "googleapiclient",
    "httplib2",
    "PIL",
    "alembic",
    "argon2",
    "starlette",
)


def test_help_imports_no_heavy_module() -> None:
    assert heavy(imported(["--help"]), NOT_FOR_HELP) == []


def test_help_of_a_command_imports_no_heavy_module() -> None:
    assert heavy(imported(["figures", "--help"]), NOT_FOR_HELP) == []


def test_status_imports_no_heavy_module(demo_site: Path) -> None:
    modules = imported(["status"], cwd=demo_site)
    assert "aggregator.reads" in modules
    assert heavy(modules, NOT_FOR_STATUS) == []


def test_render_imports_only_what_it_uses(demo_site: Path) -> None:
    modules = imported(["render"], cwd=demo_site)
    assert "jinja2" in modules
    assert heavy(modules, NOT_FOR_RENDER) == []


def test_head_revision_is_the_migrations_head() -> None:
    assert store._revisions()[0] == store.HEAD_REVISION


def test_staff_hashes_its_dummy_password_on_first_use_not_at_import() -> None:
    code = "from aggregator import staff; print(staff._dummy_hash.cache_info().currsize)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


def test_the_parser_names_the_figures_and_formats_the_commands_know() -> None:
    assert tuple(context.FIGURE_LABELS) == cli_figures_args.FETCHED_FIGURES
    assert cli_figures_args.REPORT_FORMATS == report.FORMATS


def test_the_parser_completes_file_names_as_shtab_does() -> None:
    for shell, function in cli_help.FILE_COMPLETION.items():
        assert shtab.FILE[shell] == function


def test_runs_names_the_fragment_file_as_the_renderer_does() -> None:
    assert runs.FRAGMENT_FILE == render.FRAGMENT_FILE


def test_the_parser_names_the_defaults_of_install_and_init_as_they_do() -> None:
    assert cli_install_args.KINDS == install.KINDS
    assert cli_install_args.DEFAULT_USER == install.DEFAULT_USER
    assert cli_install_args.DEFAULT_GROUP == install.DEFAULT_GROUP
    assert cli_install_args.DEFAULT_OUTPUT == install.DEFAULT_OUTPUT
    assert cli_setup_args.DEFAULT_OUTPUT == init.DEFAULT_OUTPUT
    assert cli_setup_args.DEFAULT_DATABASE == init.DEFAULT_DATABASE


# Notes whether the cycle collector runs while `aggregator.cli` is imported, and whether what
# the imports made is frozen (never walked by the collector again).
_COLLECTOR_WATCH = """
import gc, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "aggregator.cli":
            seen.append(gc.isenabled())
sys.meta_path.insert(0, Watch())
from aggregator import __main__ as entry
sys.argv = ["showcase", "--version"]
try:
    entry.run()
except SystemExit:
    pass
print(seen, gc.isenabled(), gc.get_freeze_count() > 0, gc.get_threshold())
"""


def test_the_command_line_is_imported_with_the_cycle_collector_paused() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTOR_WATCH], capture_output=True, text=True, check=True
    )
    seen, enabled, frozen, threshold = done.stdout.splitlines()[-1].split(" ", 3)
    assert (seen, enabled, frozen) == ("[False]", "True", "True")  # paused, then frozen
    # and the youngest objects collected in batches of 10,000, not Python's 700
    assert threshold.startswith(f"({cycles.YOUNG_GENERATION_SIZE},")


def test_the_showcase_script_starts_where_python_m_aggregator_does() -> None:
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    assert 'showcase = "aggregator.__main__:run"' in pyproject.read_text(encoding="utf-8")
