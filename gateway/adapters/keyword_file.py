"""Read keywords.yml (safe YAML) keeping line numbers, so every problem names its line.

The file's shape is declared once, as pydantic models (`keyword_shape`); they check it, every
problem at once, and `keyword_build` turns it into the domain's frozen `KeywordRules`. This
module reads the file, remembers where each key sits, and formats problems as
`keywords.yml:12: keywords.0.words.en: message` — the way compilers do, so editors jump there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gateway.adapters.keyword_build import build
from gateway.adapters.keyword_shape import KeywordsFile, json_schema
from gateway.adapters.keyword_types import Known
from gateway.adapters.keyword_wording import problem
from gateway.adapters.spelling import dictionary_for
from gateway.domain.keywords import KeyPath, KeywordRules, KeywordsError, Problem, Severity

Lines = dict[KeyPath, int]


@dataclass(frozen=True)
class FileProblem:
    """A problem in the keywords file, with the line it was found on (None: not known)."""

    path: KeyPath
    line: int | None
    message: str
    severity: Severity = "error"

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line is not None else filename
        key = ".".join(str(part) for part in self.path) or "(top)"
        label = "warning: " if self.severity == "warning" else ""
        return f"{where}: {key}: {label}{self.message}"


class KeywordFileError(Exception):
    """The keywords file cannot be used; `problems` holds every error (and the warnings)."""

    def __init__(self, filename: str, problems: list[FileProblem]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__(self.__str__())

    def lines(self) -> list[str]:
        return [problem.format(self.filename) for problem in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())


def load_rules(path: str | Path) -> KeywordRules:
    """The rules in `path`; raises KeywordFileError naming the key and line of each problem."""
    rules, problems = _evaluate(path)
    if rules is None:
        raise KeywordFileError(str(path), problems)
    return rules


def check(path: str | Path) -> tuple[KeywordRules | None, list[str]]:
    """For `smsgate keywords check`: the rules (None when invalid) and every problem, formatted
    (warnings included)."""
    try:
        rules, problems = _evaluate(path)
    except KeywordFileError as exc:
        return None, exc.lines()
    return rules, [problem.format(str(path)) for problem in problems]


def rules_from(data: Mapping[str, Any], *, spelling: bool = True) -> KeywordRules:
    """Rules from an already parsed mapping; raises KeywordsError listing every problem.

    `spelling`: ask the real-word dictionary of its languages which look-alikes of a keyword
    are real words ("step" beside STOP), so a typo that is a real word goes to review."""
    rules, problems = _validated(data, spelling=spelling)
    if rules is None:
        raise KeywordsError(problems)
    return rules


def schema_text() -> str:
    """keywords.yml's JSON Schema, as shipped in keywords.schema.json."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def _validated(
    data: Mapping[str, Any], *, spelling: bool = True
) -> tuple[KeywordRules | None, list[Problem]]:
    """The rules and their warnings, or None and every problem (errors and warnings)."""
    known = Known.of(data)
    try:
        shape = KeywordsFile.model_validate(data, context={"known": known})
    except ValidationError as exc:
        found = [problem(error, data, KeywordsFile) for error in exc.errors(include_url=False)]
        errors = [*found, *known.problems]
        return None, [*errors, *_warnings_despite(data, errors)]
    if known.problems:
        return None, [*known.problems, *_warnings_despite(data, known.problems)]
    dictionary = dictionary_for(shape.languages) if spelling else None
    rules = build(shape, data, dictionary)
    return rules, list(rules.warnings)


def _warnings_despite(data: Mapping[str, Any], errors: list[Problem]) -> list[Problem]:
    """The warnings of a file that has errors, as the old validator listed them together: the
    rules are built without the top-level sections that hold errors, when what remains is
    still a whole file (every required section valid), else there are none to give."""
    broken = {p.path[0] for p in errors if p.path}
    required = {name for name, f in KeywordsFile.model_fields.items() if f.is_required()}
    if any(not p.path for p in errors) or broken & required:
        return []
    rest = {k: v for k, v in data.items() if k not in broken}
    # Names are still looked up in the whole file: a join naming a broken section's
    # disclosure is that section's error, already reported.
    known = Known.of(data)
    try:
        shape = KeywordsFile.model_validate(rest, context={"known": known})
        rules = build(shape, rest, None)
    except ValidationError:
        return []
    if known.problems:
        return []
    return [w for w in rules.warnings if w.severity == "warning"]


def _evaluate(path: str | Path) -> tuple[KeywordRules | None, list[FileProblem]]:
    """Read and validate; every problem of the file, in line order."""
    data, lines, duplicates = _read(Path(path), str(path))
    rules, found = _validated(data)
    problems = [*duplicates, *(_locate(p, lines) for p in found)]
    problems.sort(key=lambda p: p.line if p.line is not None else 0)
    return (None if duplicates else rules), problems


def _read(path: Path, filename: str) -> tuple[Mapping[str, Any], Lines, list[FileProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(filename, None, "file not found (set KEYWORDS_FILE or pass a path)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(filename, None, f"cannot read the file: {exc}") from None
    try:
        data, lines, duplicates = parse(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        raise _fail(filename, line, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise _fail(filename, None, f"not valid YAML: {exc}") from None
    except RecursionError:
        raise _fail(filename, None, "not valid YAML: nested too deeply") from None
    if not isinstance(data, Mapping):
        message = "the file is empty" if data is None else "expected a mapping at the top level"
        raise _fail(filename, 1, message)
    return data, lines, duplicates


def _fail(filename: str, line: int | None, message: str) -> KeywordFileError:
    return KeywordFileError(filename, [FileProblem((), line, message)])


def parse(text: str) -> tuple[Any, Lines, list[FileProblem]]:
    """`yaml.safe_load` semantics, plus the line (1-based) of every key path in the document
    and the keys written twice (YAML itself keeps the last one silently)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        lines = dict(_node_lines(loader, node, ()))
        duplicates = list(_duplicate_keys(loader, node, ()))
        return loader.construct_document(node), lines, duplicates
    finally:
        loader.dispose()


class _Loader(yaml.SafeLoader):
    """`yaml.SafeLoader`, except that a date that does not exist (2027-02-30) is kept as the
    text written, so the key's own check names it with its line instead of PyYAML raising."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _node_lines(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, within: tuple[int, ...] = ()
) -> Iterator[tuple[KeyPath, int]]:
    if id(node) in within:  # `&r [*r]`: the alias holds itself; reading it never ends
        problem = "an alias (*name) refers to the value that contains it"
        raise yaml.MarkedYAMLError(problem=problem, problem_mark=node.start_mark)
    within = (*within, id(node))
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = _key(loader, key_node)
            # A key's line is where the key is written (a value may start on the next line).
            yield from _node_lines(loader, value_node, (*path, key), within)
            yield (*path, key), key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _node_lines(loader, item, (*path, i), within)


def _duplicate_keys(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath
) -> Iterator[FileProblem]:
    """YAML keeps the last of two equal keys silently; a clinic editing by hand wants to know."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = _key(loader, key_node)
            if key in seen:
                yield FileProblem(
                    (*path, key), key_node.start_mark.line + 1, "this key appears twice"
                )
            seen.add(key)
            yield from _duplicate_keys(loader, value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _duplicate_keys(loader, item, (*path, i))


def _key(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    """The key as the domain reports it: text as written (numbers and dates as text too)."""
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_object(node)
        return value if isinstance(value, str) else str(value)
    return f"<{type(node).__name__}>"


def _locate(problem: Problem, lines: Lines) -> FileProblem:
    """The line of the problem's key path, or of its nearest parent that is in the file."""
    path = problem.path
    for size in range(len(path), -1, -1):
        line = lines.get(path[:size])
        if line is not None:
            return FileProblem(path, line, problem.message, problem.severity)
    return FileProblem(path, None, problem.message, problem.severity)
