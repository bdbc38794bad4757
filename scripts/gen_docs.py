"""Regenerate the parts of README.md and meltano.yml that repeat the code.

The settings table (``tap-matomo --about --format=markdown``), the stream list (the tap's
discovered streams, grouped by report family) and the Meltano setting definitions (from the
config schema) are written between marker comments, so they can never drift from the code:
``tests/test_readme.py`` fails when a marked section differs from what this script writes.

Usage, from the repository root::

    .venv/bin/python scripts/gen_docs.py          # rewrite the marked sections
    .venv/bin/python scripts/gen_docs.py --check  # exit 1 if a section is stale
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MELTANO_YML = ROOT / "meltano.yml"
#: The extractor's definition for other Meltano projects (`meltano add --from-ref`).
PLUGIN_DEFINITION = ROOT / "meltano-plugin" / "tap-matomo.yml"

#: Meltano setting kind for each JSON schema type of a tap setting.
KIND_BY_JSON_TYPE = {
    "string": "string",
    "integer": "integer",
    # Meltano 4 has no `number` kind, and its `decimal` kind turns a value from the environment
    # into a Decimal that it then cannot write to the tap's config file ("Object of type Decimal
    # is not JSON serializable"). `integer` parses `2` and passes a YAML `0.5` through unchanged.
    "number": "integer",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}

#: Added to the description of a setting whose JSON type Meltano has no kind for.
NUMBER_NOTE = (
    " In Meltano a whole number from the environment or `meltano config set`; a fraction "
    "(e.g. 0.5) only in meltano.yml."
)

#: Family title for streams that are not entries of the report catalog.
OTHER_FAMILY = "Sites, goals and special reports"


# -- sources ----------------------------------------------------------------------------------


def about_markdown() -> str:
    """What ``tap-matomo --about --format=markdown`` prints (the installed tap, this tree)."""
    return subprocess.run(
        [sys.executable, "-m", "tap_matomo", "--about", "--format=markdown"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout


def settings_table(about: str) -> str:
    """The Markdown settings table of the ``--about`` output."""
    lines = about.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting "))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def discovered_streams() -> list[Any]:
    """The streams the tap discovers, without config and without network."""
    import logging

    from tap_matomo.tap import TapMatomo

    logger = logging.getLogger("tap-matomo")
    level = logger.level
    logger.setLevel(logging.ERROR)  # no "Config validation failed" warning: no config is given
    try:
        tap = TapMatomo(config={}, parse_env_config=False, validate_config=False)
    finally:
        logger.setLevel(level)
    return list(tap.streams.values())


def _first_sentence(text: str | None) -> str:
    text = " ".join((text or "").split()).replace("``", "`")  # reST literals to Markdown
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def stream_rows(stream: Any) -> tuple[str, dict[str, str]]:
    """The family of a stream and its row of the stream table."""
    from tap_matomo.keys import ROW_KEY, hashed_columns

    spec = getattr(stream, "spec", None)
    if spec is not None:
        family = spec.family
        method = spec.method
        description = spec.description
        plugin = spec.plugin
    else:
        family = getattr(stream, "family", None) or OTHER_FAMILY
        method = getattr(stream, "api_method", None) or ""
        description = _first_sentence(type(stream).__doc__)
        plugin = getattr(stream, "plugin", None)
    notes = []
    if plugin:
        notes.append(f"needs plugin {plugin}")
    if not stream.selected_by_default:
        notes.append("not selected by default")
    if stream.parent_stream_type is not None:
        notes.append(f"with its parent `{stream.parent_stream_type.name}`")
    elif stream.replication_key:
        notes.append(f"incremental on `{stream.replication_key}`")
    else:
        notes.append("full table")
    keys = ", ".join(f"`{k}`" for k in stream.primary_keys or ())
    if spec is not None and ROW_KEY in (stream.primary_keys or ()):
        keys += " (of " + ", ".join(f"`{c}`" for c in hashed_columns(spec)) + ")"
    return family, {
        "stream": f"`{stream.name}`",
        "method": f"`{method}`" if method else "",
        "key": keys,
        "notes": "; ".join(notes),
        "description": _cell(description),
    }


def streams_markdown(streams: list[Any]) -> str:
    """The stream list, one table per family in catalog order (non-catalog streams first)."""
    from tap_matomo.catalog import REPORTS

    order = [OTHER_FAMILY, *dict.fromkeys(spec.family for spec in REPORTS)]
    families: dict[str, list[dict[str, str]]] = {}
    for stream in streams:
        family, row = stream_rows(stream)
        families.setdefault(family, []).append(row)
    order += [f for f in families if f not in order]
    selected = sum(1 for s in streams if s.selected_by_default)
    parts = [
        f"{len(streams)} streams ({selected} selected by default), generated from the code by "
        "`make docs`."
    ]
    for family in order:
        rows = families.get(family)
        if not rows:
            continue
        parts.append(f"\n**{family}**\n")
        parts.append("| Stream | Matomo method | Primary key | Sync | Description |")
        parts.append("|:--|:--|:--|:--|:--|")
        parts += [
            f"| {r['stream']} | {r['method']} | {r['key']} | {r['notes']} | {r['description']} |"
            for r in rows
        ]
    return "\n".join(parts)


def about_json() -> dict[str, Any]:
    """What ``tap-matomo --about --format=json`` prints: capabilities and every setting."""
    return json.loads(
        subprocess.run(
            [sys.executable, "-m", "tap_matomo", "--about", "--format=json"],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        ).stdout
    )


def meltano_setting(name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """The Meltano definition of one setting: a kind Meltano can store and pass on, a default.

    Objects (``stream_maps``, ``batch_config``...) and arrays get the kinds under which
    ``meltano config set`` parses JSON, so the tap receives an object, not a string.
    """
    types = prop.get("type", "string")
    types = [types] if isinstance(types, str) else types
    json_type = next((t for t in types if t != "null"), "string")
    setting: dict[str, Any] = {"name": name}
    description = " ".join((prop.get("description") or "").split())
    if prop.get("secret"):
        setting["kind"] = "password"
        setting["sensitive"] = True
    elif json_type == "string" and prop.get("enum"):
        setting["kind"] = "options"
        setting["options"] = [{"label": str(v), "value": v} for v in prop["enum"] if v is not None]
    else:
        setting["kind"] = KIND_BY_JSON_TYPE[json_type]
        if json_type == "number":
            description += NUMBER_NOTE
    if "default" in prop:
        setting["value"] = prop["default"]
    if prop.get("title"):
        setting["label"] = prop["title"]
    if description:
        setting["description"] = description
    return setting


def meltano_settings() -> list[dict[str, Any]]:
    """Meltano setting definitions: the tap's own settings, then the SDK's built-in ones."""
    properties = about_json()["settings"]["properties"]
    return [meltano_setting(name, prop) for name, prop in properties.items()]


def meltano_capabilities_yaml(indent: int) -> str:
    """The capabilities the tap advertises (``--about``), as Meltano's list."""
    pad = " " * indent
    return "\n".join(f"{pad}- {capability}" for capability in about_json()["capabilities"])


def meltano_settings_yaml(indent: int) -> str:
    """The settings list as YAML lines indented to sit under ``settings:``."""
    text = yaml.safe_dump(
        meltano_settings(), sort_keys=False, width=96, default_flow_style=False, allow_unicode=True
    )
    pad = " " * indent
    return "\n".join(pad + line if line else line for line in text.rstrip("\n").splitlines())


# -- rewriting --------------------------------------------------------------------------------


def replace_between(text: str, start: str, end: str, body: str) -> str:
    """Replace what lies between two marker lines (markers kept, each on its own line)."""
    pattern = re.compile(
        rf"(^[ \t]*{re.escape(start)}[^\n]*\n)(.*?)(^[ \t]*{re.escape(end)})", re.S | re.M
    )
    if not pattern.search(text):
        msg = f"markers {start!r} ... {end!r} not found"
        raise ValueError(msg)
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(3), text, count=1)


def marker_indent(text: str, marker: str) -> int:
    """Indentation of a marker line (the generated YAML takes the same)."""
    match = re.search(rf"^([ \t]*){re.escape(marker)}", text, re.M)
    if match is None:
        msg = f"marker {marker!r} not found"
        raise ValueError(msg)
    return len(match.group(1))


def render_readme(text: str) -> str:
    """README.md with its generated sections brought up to date."""
    text = replace_between(
        text, "<!-- settings:start", "<!-- settings:end -->", settings_table(about_markdown())
    )
    return replace_between(
        text, "<!-- streams:start", "<!-- streams:end -->", streams_markdown(discovered_streams())
    )


def meltano_select_yaml(streams: list[Any], indent: int) -> str:
    """Meltano ``select`` patterns for the streams the tap selects by default.

    Meltano's own default (``*.*``) would select every stream, ignoring the tap's defaults.
    """
    pad = " " * indent
    return "\n".join(f"{pad}- {s.name}.*" for s in streams if s.selected_by_default)


def render_meltano_yml(text: str) -> str:
    """meltano.yml with the tap's capabilities, settings and default selection up to date."""
    indent = marker_indent(text, "# capabilities:start")
    text = replace_between(
        text, "# capabilities:start", "# capabilities:end", meltano_capabilities_yaml(indent)
    )
    indent = marker_indent(text, "# settings:start")
    text = replace_between(
        text, "# settings:start", "# settings:end", meltano_settings_yaml(indent)
    )
    streams = discovered_streams()
    indent = marker_indent(text, "# select:start")
    return replace_between(
        text, "# select:start", "# select:end", meltano_select_yaml(streams, indent)
    )


def render_plugin_definition(_text: str) -> str:
    """The extractor's full definition, for ``meltano add --from-ref`` in another project."""
    about = about_json()
    definition = {
        "name": "tap-matomo",
        "namespace": "tap_matomo",
        "variant": "tap-matomo",
        "label": "Matomo",
        "description": "Matomo web analytics reports, incremental per site and day.",
        "pip_url": "tap-matomo",
        "executable": "tap-matomo",
        "capabilities": about["capabilities"],
        "settings_group_validation": [["url", "token_auth"]],
        "settings": meltano_settings(),
    }
    header = (
        "# Generated by `make docs` (scripts/gen_docs.py) from the tap: do not edit.\n"
        "# In another Meltano project:\n"
        "#   meltano add --plugin-type extractor tap-matomo --from-ref <this file or its URL>\n"
        "# then point `pip_url` in that project's meltano.yml at where the package comes from\n"
        "# (a package index, `git+https://<host>/<repo>.git@v0.1.0` or a local checkout).\n"
        '# See the README, section "Meltano".\n'
    )
    body = yaml.safe_dump(definition, sort_keys=False, width=96, allow_unicode=True)
    return header + body


TARGETS: dict[Path, Callable[[str], str]] = {
    README: render_readme,
    MELTANO_YML: render_meltano_yml,
    PLUGIN_DEFINITION: render_plugin_definition,
}


def stale_files() -> list[Path]:
    """Files whose generated sections differ from the code."""
    return [path for path, render in TARGETS.items() if render(_read(path)) != _read(path)]


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def main(argv: list[str] | None = None) -> int:
    """Rewrite the generated sections, or with ``--check`` report the stale ones."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"{path.name} is stale: run `make docs`", file=sys.stderr)
        return 1 if stale else 0
    for path, render in TARGETS.items():
        old = _read(path)
        new = render(old)
        if new != old:
            path.parent.mkdir(exist_ok=True)
            path.write_text(new)
            print(f"updated {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
