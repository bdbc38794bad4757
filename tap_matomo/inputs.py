"""The tap's input files (config, catalog, state): read and checked before the tap starts.

The SDK reads them with tracebacks for a missing file or bad JSON and trusts their shape, so a
catalog whose `streams` is not a list or a state whose `partitions` is not a list failed deep
inside it, blamed on something else. Here each problem is one :class:`InputError` that names the
file, the part of it that is wrong, and what to do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from singer_sdk.configuration._dict_config import parse_environment_config

if TYPE_CHECKING:
    from singer_sdk import Stream

#: What to do with a state that cannot be used (the tap never repairs a state by guessing).
STATE_REMEDY = (
    "Fix the state, or drop it (a run without `--state`, `meltano state clear`, or "
    "`meltano run --full-refresh`) to extract again from the configured start."
)
CATALOG_REMEDY = "Run `tap-matomo --discover` for a valid catalog and select streams in it."


class InputError(ValueError):
    """A config, catalog or state that the tap cannot use; the message says what to fix."""


def read_json_object(path: str, option: str) -> dict[str, Any]:
    """The JSON object in a file given to a command line option (``--config``...)."""
    what = f"{option.lstrip('-').capitalize()} file {path!r} (`{option}`)"
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{what} was not found: check the path."
        raise InputError(msg) from None
    except IsADirectoryError:
        msg = f"{what} is a directory: give the path of a JSON file."
        raise InputError(msg) from None
    except UnicodeDecodeError:
        msg = f"{what} is not UTF-8 text: give a JSON file."
        raise InputError(msg) from None
    except OSError as exc:
        msg = f"{what} cannot be read ({exc.strerror or type(exc).__name__}): check the path."
        raise InputError(msg) from None
    if not text.strip():
        msg = f"{what} is empty: it must hold a JSON object."
        raise InputError(msg)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        # The decoder's message names the position, never the file's content (no secret).
        msg = f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        raise InputError(msg) from None
    except RecursionError:
        msg = f"{what} is nested too deeply to be a JSON {option.lstrip('-')}."
        raise InputError(msg) from None
    if not isinstance(value, dict):
        msg = f"{what} holds {_kind(value)}, not a JSON object."
        raise InputError(msg)
    return value


def read_environment_config(schema: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The settings given as environment variables (``--config ENV``), as the SDK parses them.

    The SDK ends with a bare ValueError (``invalid literal for int()``) or JSONDecodeError on
    the first variable it cannot parse; this names the variable and its setting (never the
    value: it may be the token). The SDK reads any boolean word it does not know as false, so
    ``TAP_MATOMO_VERIFY_SSL=ture`` turned TLS checks off and a typo in
    ``TAP_MATOMO_VISITS_EXCLUDE_IDENTITY`` kept visitor identities: those are refused too, and
    a known word is read whatever its case and blanks around it.
    """
    try:
        config = parse_environment_config(schema, prefix)
    except ValueError:
        raise _unparsable_variable(schema, prefix) from None
    for name, prop in schema.get("properties", {}).items():
        variable = _variable(prefix, name)
        word = os.environ.get(variable)
        if word is None or "boolean" not in _types(prop):
            continue
        word = word.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            msg = (
                f"Environment variable {variable} (setting `{name}`) is not a valid boolean: "
                "write true or false (or 1/0, yes/no, on/off)."
            )
            raise InputError(msg)
        config[name] = word in TRUE_WORDS  # the SDK read " true" as false
    return config


#: The words the SDK reads as true (``singer_sdk.configuration._dict_config.TRUTHY``), and their
#: opposites; it reads any other word as false.
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def _variable(prefix: str, name: str) -> str:
    return prefix + name.upper().replace("-", "_")


def _types(prop: dict[str, Any]) -> list[Any]:
    return prop.get("type") if isinstance(prop.get("type"), list) else [prop.get("type")]


def _unparsable_variable(schema: dict[str, Any], prefix: str) -> InputError:
    """The InputError naming the first variable the SDK cannot parse."""
    for name, prop in schema.get("properties", {}).items():
        try:
            parse_environment_config({"properties": {name: prop}}, prefix, dotenv_path=None)
        except ValueError:
            variable = _variable(prefix, name)
            kind = next((k for k in _types(prop) if k != "null"), "value")
            example = {"integer": "e.g. 3", "array": "JSON, e.g. [1, 2]", "object": "JSON"}
            msg = (
                f"Environment variable {variable} (setting `{name}`) is not a valid {kind}: "
                f"write it as {example.get(kind, 'the setting expects')}."
            )
            return InputError(msg)
    raise AssertionError("unreachable")  # pragma: no cover - one variable failed above


def check_catalog(catalog: dict[str, Any], source: str = "The catalog") -> None:
    """The parts of a Singer catalog the SDK relies on without checking them."""
    streams = catalog.get("streams")
    if not isinstance(streams, list):
        msg = f"{source}: `streams` must be a list of stream entries, not {_kind(streams)}. "
        raise InputError(msg + CATALOG_REMEDY)
    for index, entry in enumerate(streams):
        where = f"{source}: `streams[{index}]`"
        if not isinstance(entry, dict):
            msg = f"{where} must be a stream entry (an object), not {_kind(entry)}. "
            raise InputError(msg + CATALOG_REMEDY)
        name = entry.get("tap_stream_id")
        if not isinstance(name, str) or not name:
            msg = f"{where} has no `tap_stream_id`. "
            raise InputError(msg + CATALOG_REMEDY)
        where = f"{source}: stream {name!r}"
        schema = entry.get("schema")
        if not isinstance(schema, dict):
            msg = f"{where} has no `schema` object (got {_kind(schema)}). "
            raise InputError(msg + CATALOG_REMEDY)
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            msg = f"{where}: `schema.properties` must be an object. "
            raise InputError(msg + CATALOG_REMEDY)
        for column, prop in properties.items():
            if not isinstance(prop, dict):
                msg = f"{where}: the schema of column {column!r} must be an object. "
                raise InputError(msg + CATALOG_REMEDY)
        metadata = entry.get("metadata", [])
        if not isinstance(metadata, list) or not all(
            isinstance(m, dict)
            and isinstance(m.get("breadcrumb"), list)
            and isinstance(m.get("metadata"), dict)
            for m in metadata
        ):
            msg = f"{where}: `metadata` must be a list of {{breadcrumb, metadata}} objects. "
            raise InputError(msg + CATALOG_REMEDY)
        if not isinstance(entry.get("key_properties", []), list):
            msg = f"{where}: `key_properties` must be a list. "
            raise InputError(msg + CATALOG_REMEDY)


def check_catalog_streams(streams: Iterable[Stream], source: str = "The catalog") -> None:
    """The streams to sync, as the catalog set them: the tap's replication key, known keys.

    The streams compute and store their bookmarks on their own key (a report's `date`, the
    visit log's `last_action_time`); a catalog naming another key, or a schema without it,
    failed in the SDK at the first record, and a key property without its column made every
    target refuse the stream.
    """
    for stream in streams:
        own = type(stream).replication_key
        key = stream.replication_key
        if key and key != own:
            msg = (
                f"{source}: stream {stream.name!r} has the replication key {key!r}; the tap "
                f"keeps its bookmark on {own!r} and no other. "
            )
            raise InputError(msg + CATALOG_REMEDY)
        columns = stream.effective_schema.get("properties", {})
        roles = {column: "a key column" for column in stream.primary_keys or ()}
        if key:
            roles[key] = "its replication key"
        for column, role in roles.items():
            if column not in columns:
                msg = f"{source}: stream {stream.name!r} has no {column!r} column in its schema. "
                raise InputError(msg + CATALOG_REMEDY)
            # (a parent synced only for its child streams has every column deselected)
            if stream.selected and not stream.mask.get(("properties", column), True):
                msg = (
                    f"{source}: stream {stream.name!r} deselects {column!r}, {role}, which "
                    "every record needs: select it. "
                )
                raise InputError(msg + CATALOG_REMEDY)


def check_state_shape(state: Any, source: str = "The state") -> None:
    """The shape of a Singer state: objects where the SDK indexes, lists where it iterates."""
    if not isinstance(state, dict):
        msg = f"{source} must be a JSON object, not {_kind(state)}. "
        raise InputError(msg + STATE_REMEDY)
    bookmarks = state.get("bookmarks", {})
    if not isinstance(bookmarks, dict):
        msg = f"{source}: `bookmarks` must be an object of stream name -> bookmark. "
        raise InputError(msg + STATE_REMEDY)
    for stream, bookmark in bookmarks.items():
        where = f"{source}: the bookmark of stream {stream!r}"
        if not isinstance(bookmark, dict):
            msg = f"{where} must be an object, not {_kind(bookmark)}. "
            raise InputError(msg + STATE_REMEDY)
        partitions = bookmark.get("partitions", [])
        if not isinstance(partitions, list):
            msg = f"{where}: `partitions` must be a list, not {_kind(partitions)}. "
            raise InputError(msg + STATE_REMEDY)
        for index, partition in enumerate(partitions):
            if not isinstance(partition, dict) or not isinstance(partition.get("context"), dict):
                msg = (
                    f"{where}: `partitions[{index}]` must be an object with a `context` "
                    'object (e.g. {"site_id": 1}). '
                )
                raise InputError(msg + STATE_REMEDY)
        # The SDK pops from the progress markers of an interrupted run before anything is read.
        places = [("", bookmark)] + [(f"`partitions[{i}]`: ", p) for i, p in enumerate(partitions)]
        for part, place in places:
            if not isinstance(place.get("progress_markers", {}), dict):
                msg = f"{where}: {part}`progress_markers` must be an object. "
                raise InputError(msg + STATE_REMEDY)


def _kind(value: Any) -> str:
    """A JSON value's kind for a message (never the value: it could be a secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
