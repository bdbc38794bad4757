"""tap-matomo as Meltano runs it: config errors on the last line, settings Meltano can pass."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib


def _run(config: dict[str, Any], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [sys.executable, "-m", "tap_matomo", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"site_ids": [1], "all_sites": True}, "`site_ids` and `all_sites`"),
        ({"site_ids": [1], "max_tries": "five"}, "max_tries"),
    ],
)
def test_config_error_is_the_last_line_with_its_reason(
    config: dict[str, Any], reason: str, tmp_path: Path
) -> None:
    """`meltano config test` shows only the tap's last output line: it must say why."""
    result = _run({"url": "http://127.0.0.1:9", "token_auth": "x" * 32, **config}, tmp_path)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert "ERROR" in last
    assert "Config validation failed: " in last
    assert reason in last
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_whole_number_from_meltano_is_a_valid_retry_wait(tmp_path: Path) -> None:
    """Meltano's `integer` kind passes TAP_MATOMO_RETRY_WAIT_SECONDS=2 as 2; a YAML 0.5 as 0.5."""
    for wait in (2, 0.5):
        result = _run(
            {
                "url": "http://127.0.0.1:9",
                "token_auth": "x" * 32,
                "site_ids": [1],
                "retry_wait_seconds": wait,
                "max_tries": 1,
            },
            tmp_path,
        )
        assert "Config validation failed" not in result.stderr
        assert "could not reach Matomo" in result.stderr


def test_plugin_definition_for_other_projects_is_current() -> None:
    """`meltano-plugin/tap-matomo.yml` (for `meltano add --from-ref`) is what `make docs` writes."""
    import importlib.util

    import yaml

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("gen_docs", root / "scripts" / "gen_docs.py")
    assert spec is not None
    assert spec.loader is not None
    gen_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen_docs)
    text = gen_docs.PLUGIN_DEFINITION.read_text()
    assert gen_docs.render_plugin_definition(text) == text, "run `make docs`"
    definition = yaml.safe_load(text)
    project = yaml.safe_load((root / "meltano.yml").read_text())
    extractor = next(p for p in project["plugins"]["extractors"] if p["name"] == "tap-matomo")
    for key in ("namespace", "executable", "capabilities", "settings", "settings_group_validation"):
        assert definition[key] == extractor[key], key


def test_jobs_and_schedules_name_plugins_of_the_project() -> None:
    """A job naming a plugin or mapping meltano.yml no longer defines fails only at run time."""
    import yaml

    root = Path(__file__).resolve().parent.parent
    project = yaml.safe_load((root / "meltano.yml").read_text())
    plugins = project["plugins"]
    names = {p["name"] for kind in plugins.values() for p in kind}
    names |= {m["name"] for p in plugins.get("mappers", []) for m in p.get("mappings", [])}
    jobs = {job["name"]: job for job in project["jobs"]}
    assert "matomo-to-duckdb" in jobs
    for job in jobs.values():
        for task in job["tasks"]:
            assert set(task.split()) <= names, f"job {job['name']}: {task}"
            assert task.split()[0] == "tap-matomo"
            assert task.split()[-1] == "target-duckdb"
    assert [s["job"] for s in project["schedules"]] == ["matomo-to-duckdb"]
    assert project["schedules"][0]["interval"] == "@daily"


def test_every_imported_package_is_declared() -> None:
    """A package the tap imports but does not declare breaks when its provider drops it."""
    import ast
    import re
    from importlib.metadata import distributions, packages_distributions

    root = Path(__file__).resolve().parent.parent
    imported: set[str] = set()
    for path in (root / "tap_matomo").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"tap_matomo", "__future__"}
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]

    def normalize(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    declared = {normalize(re.split(r"[<>=~!\[; ]", d)[0]) for d in project["dependencies"]}
    providers = packages_distributions()
    for dist in distributions():  # Python 3.10 reads top_level.txt only, which flit omits
        for file in dist.files or ():
            top = file.parts[0].removesuffix(".py")
            if top.isidentifier():
                providers.setdefault(top, []).append(dist.metadata["Name"])
    for module in sorted(third_party):
        assert {normalize(d) for d in providers[module]} & declared, module
