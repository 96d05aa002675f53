"""Docs that cannot drift: what README.md and docs/ name exists, and what exists is documented.

Every repository path, module, make target (and its variables), command-line option, Glue job
argument, DAG param, Airflow Variable, configuration key and link the docs name is checked against
the code; every source module, make target, option, job argument and param the code has must be
named somewhere in the docs. (The configuration table itself, key by key against the dataclass and
cdk.json, is tests/infra/test_configuration.py.) Each check returns the problems it found, each
naming the page and the thing, so the planted-drift tests at the end can show each one fails.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import re
import tomllib
from functools import cache
from pathlib import Path

import pytest

from infra.config import PipelineConfig, mwaa_constraints_file
from music_contract import names

REPO = Path(__file__).resolve().parents[1]
# Generated or installed, never documented as part of the repository.
NOT_REPOSITORY = {
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    "out",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "spark-warehouse",
    "metastore_db",
}
# Objects the pipeline writes at run time (S3, out/): named in the docs, never repository files.
RUNTIME_FILES = {"data_quality.json", "publication.json", "kpi_items.json"}
# Glue's own special job parameters (not the script's arguments), named where the stack sets them.
GLUE_SPECIAL_PARAMETERS = {"--extra-py-files", "--TempDir", "--custom-logGroup-prefix"}
FILE_EXTENSIONS = (".py", ".md", ".toml", ".json", ".txt", ".lock")
PACKAGES = ("music_contract", "music_kpis", "music_pipeline", "music_triggers", "infra", "ops", "local_run")
JOB_ARGUMENT = re.compile(r"--[a-z]+(?:_[a-z]+)+\b")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*\b")


@dataclasses.dataclass(frozen=True)
class Doc:
    name: str
    text: str

    @property
    def prose(self) -> str:
        """The text without its fenced code blocks."""
        return re.sub(r"^```.*?^```", "", self.text, flags=re.S | re.M)

    @property
    def code_lines(self) -> list[str]:
        return [
            line
            for block in re.findall(r"^```[^\n]*\n(.*?)^```", self.text, flags=re.S | re.M)
            for line in block.splitlines()
        ]

    @property
    def spans(self) -> list[str]:
        """Inline code of the prose (tables included)."""
        return re.findall(r"`([^`\n]+)`", self.prose)

    def tables(self, first_header: str) -> list[list[list[str]]]:
        """Each table whose first header cell is `first_header`: its rows as cells (header excluded)."""
        found = []
        for block in re.split(r"\n\s*\n", self.prose):
            lines = [line for line in block.strip().splitlines() if line.startswith("|")]
            if lines and _cells(lines[0])[0] == first_header:
                found.append([_cells(line) for line in lines[2:]])
        return found


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def load_docs() -> list[Doc]:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), REPO / "constraints" / "README.md"]
    return [Doc(str(p.relative_to(REPO)), p.read_text()) for p in pages]


@cache
def repository_files() -> tuple[str, ...]:
    found = []
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO)
        if path.is_file() and not NOT_REPOSITORY & set(relative.parts):
            found.append(relative.as_posix())
    return tuple(sorted(found))


def source_modules() -> list[str]:
    """Every Python module outside tests (package markers and __main__ aside)."""
    return [
        f
        for f in repository_files()
        if f.endswith(".py")
        and not f.startswith("tests/")
        and Path(f).name not in {"__init__.py", "__main__.py"}
        and "/" in f
    ]


# --- Repository paths, modules and links ----------------------------------------------------------


def _tokens(doc: Doc) -> list[str]:
    return [t.strip("'\",;:()") for span in doc.spans for t in span.split()]


def path_problems(docs: list[Doc]) -> list[str]:
    files = repository_files()
    top = {f.split("/", 1)[0] for f in files}
    basenames = {f.rsplit("/", 1)[-1] for f in files}
    problems = []
    for doc in docs:
        for token in _tokens(doc):
            if any(c in token for c in "<>*{}$=[]") or "..." in token or "://" in token:
                continue
            if token.split("/", 1)[0] in NOT_REPOSITORY:
                continue
            if "/" in token and token.split("/", 1)[0] in top:
                if not (REPO / token.rstrip("/")).exists():
                    problems.append(f"{doc.name}: `{token}` names no file or folder of the repository")
            elif "/" in token and token.endswith(FILE_EXTENSIONS):
                if not any(f.endswith("/" + token) for f in files):
                    problems.append(f"{doc.name}: `{token}` names no file of the repository")
            elif (
                "/" not in token
                and token.endswith(FILE_EXTENSIONS)
                and not token.startswith(".")
                and token not in basenames | RUNTIME_FILES
            ):
                problems.append(f"{doc.name}: `{token}` names no file of the repository")
    return problems


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
        except ModuleNotFoundError:
            continue
        target = importlib.import_module(module_name)
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def module_problems(docs: list[Doc]) -> list[str]:
    dotted = re.compile(rf"(?:{'|'.join(PACKAGES)})(?:\.[A-Za-z_]\w*)+")
    return [
        f"{doc.name}: `{span}` is no module or name of the code"
        for doc in docs
        for span in doc.spans
        if dotted.fullmatch(span) and not _resolves(span)
    ]


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def link_problems(docs: list[Doc]) -> list[str]:
    problems = []
    for doc in docs:
        for target in re.findall(r"\]\(([^)\s]+)\)", doc.prose):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            path = (REPO / doc.name).parent / file_part if file_part else REPO / doc.name
            path = path.resolve()
            if not path.is_relative_to(REPO) or not path.exists():
                problems.append(f"{doc.name}: link ({target}) leads to no file of the repository")
                continue
            if anchor and path.is_file():
                headings = re.findall(r"^#+ (.+)$", Doc("", path.read_text()).prose, flags=re.M)
                if anchor not in {_slug(h) for h in headings}:
                    problems.append(f"{doc.name}: link ({target}): no such heading in {path.name}")
    return problems


def undocumented_modules(docs: list[Doc]) -> list[str]:
    text = "\n".join(doc.text for doc in docs)
    missing = []
    for module in source_modules():
        dotted = module.removesuffix(".py").replace("/", ".")
        if module not in text and Path(module).name not in text and dotted not in text:
            missing.append(f"{module} is documented nowhere (README.md, docs/)")
    return missing


# --- make targets, their variables, command-line options -----------------------------------------


@cache
def makefile() -> str:
    return (REPO / "Makefile").read_text()


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):(?!=)", makefile(), flags=re.M))


def phony_targets() -> set[str]:
    return set(re.search(r"^\.PHONY:(.*)$", makefile(), flags=re.M).group(1).split())


def _make_commands(doc: Doc) -> list[str]:
    commands = [span for span in doc.spans if span.startswith("make ")]
    commands += [line.strip() for line in doc.code_lines if line.strip().startswith("make ")]
    return commands


def make_problems(docs: list[Doc]) -> list[str]:
    targets, problems = make_targets(), []
    for doc in docs:
        for command in _make_commands(doc):
            words = command.split()
            target = next((w for w in words[1:] if "=" not in w), None)
            if target and target not in targets:
                problems.append(f"{doc.name}: `make {target}`: no such target in the Makefile")
            for variable in re.findall(r"\b([A-Z][A-Z_]+)=", command):
                if f"$({variable})" not in makefile():
                    problems.append(f"{doc.name}: `{command}`: the Makefile reads no {variable}")
    return problems


def undocumented_targets(docs: list[Doc]) -> list[str]:
    named = {re.split(r"\s", c)[1] for doc in docs for c in _make_commands(doc)}
    return [f"make {t} is documented nowhere" for t in sorted(phony_targets() - named)]


def cli_modules() -> dict[str, str]:
    """`<X>_ARGS` -> the module the Makefile passes it to (`python -m <module> ... $(X_ARGS)`)."""
    return dict(
        (variable, module)
        for module, variable in re.findall(r"-m ([\w.]+)\b[^\n]*\$\((\w+_ARGS)\)", makefile())
    )


def module_file(module: str) -> Path:
    """A module's source in the repository (pyproject.toml's package folders); a package's __main__."""
    top, *rest = module.split(".")
    folders = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    path = REPO / folders.get(top, top) / Path(*rest) if rest else REPO / folders.get(top, top)
    return path / "__main__.py" if path.is_dir() else path.with_suffix(".py")


def cli_options(module: str) -> set[str]:
    """The `--options` a module's argparse parser defines (hidden ones aside), read from its source."""
    origin = module_file(module)
    options = set()
    for node in ast.walk(ast.parse(origin.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument" and node.args:
            first = node.args[0]
            hidden = any(
                k.arg == "help" and isinstance(k.value, ast.Attribute) and k.value.attr == "SUPPRESS"
                for k in node.keywords
            )
            if isinstance(first, ast.Constant) and str(first.value).startswith("--") and not hidden:
                options.add(first.value)
    return options


def _documented_clis(docs: list[Doc]) -> set[str]:
    """Every CLI module: the Makefile's, and any `python -m <module>` of the docs in this repository."""
    modules = set(cli_modules().values())
    for doc in docs:
        for module in re.findall(r"python -m ([\w.]+)", doc.text):
            if module.split(".")[0] in {*PACKAGES, "benchmarks"}:
                modules.add(module)
    return modules


def option_problems(docs: list[Doc]) -> list[str]:
    clis, problems = cli_modules(), []
    every_option = set().union(*(cli_options(m) for m in _documented_clis(docs)))
    for doc in docs:
        for variable, value in re.findall(r"\b(\w+_ARGS)=\"((?:[^\"\\]|\\.)*)\"", doc.text):
            if variable in clis:
                for option in set(OPTION.findall(value)) - cli_options(clis[variable]):
                    problems.append(f'{doc.name}: {variable}="{value}": {clis[variable]} has no {option}')
        for line in doc.code_lines + doc.spans:
            called = re.search(r"python -m ([\w.]+)(.*)", line)
            if called and called.group(1) in _documented_clis(docs):
                for option in set(OPTION.findall(called.group(2))) - cli_options(called.group(1)):
                    problems.append(f"{doc.name}: `{line.strip()}`: {called.group(1)} has no {option}")
        for span in doc.spans:
            if OPTION.fullmatch(span) and span not in every_option | GLUE_SPECIAL_PARAMETERS:
                problems.append(f"{doc.name}: `{span}` is an option of no command")
    return problems


def undocumented_options(docs: list[Doc]) -> list[str]:
    named = {o for doc in docs for o in OPTION.findall(doc.text)}
    return [
        f"{module} {option} is documented nowhere"
        for module in sorted(_documented_clis(docs))
        for option in sorted(cli_options(module) - named)
    ]


# --- Glue job arguments, DAG params, Airflow Variables, configuration keys -----------------------


def job_arguments() -> set[str]:
    from music_kpis import arguments

    return {f"--{name}" for name in (*arguments.REQUIRED_ARGUMENTS, *arguments.OPTIONAL_ARGUMENTS)}


def dag_params() -> set[str]:
    from music_pipeline.run_params import dag_params

    return set(dag_params())


def _table_problems(docs: list[Doc], header: str, expected: set[str], what: str) -> list[str]:
    problems = []
    for doc in docs:
        for rows in doc.tables(header):
            listed = {name for row in rows for name in _names(row[0])}
            for name in sorted(listed - expected):
                problems.append(f"{doc.name}: the {what} table lists `{name}`, which is no {what}")
            for name in sorted(expected - listed):
                problems.append(f"{doc.name}: the {what} table misses `{name}`")
    return problems


def job_argument_problems(docs: list[Doc]) -> list[str]:
    arguments = job_arguments()
    problems = _table_problems(docs, "argument", arguments, "Glue job argument")
    for doc in docs:
        for name in sorted(set(JOB_ARGUMENT.findall(doc.text)) - arguments):
            problems.append(f"{doc.name}: `{name}` is no argument of the Glue job")
    documented = {name for doc in docs for name in JOB_ARGUMENT.findall(doc.text)}
    if not docs or not any(doc.tables("argument") for doc in docs):
        problems.append("no page has the Glue job's argument table")
    problems += [f"Glue job argument {a} is documented nowhere" for a in sorted(arguments - documented)]
    return problems


def dag_param_problems(docs: list[Doc]) -> list[str]:
    problems = _table_problems(docs, "param", dag_params(), "DAG param")
    if not any(doc.tables("param") for doc in docs):
        problems.append("no page has the DAG's param table")
    return problems


def airflow_variable_problems(docs: list[Doc]) -> list[str]:
    variables = {*names.PIPELINE_VARIABLES, f"connection {names.AWS_CONN_ID}"}
    problems = []
    for doc in docs:
        for rows in doc.tables("name"):
            listed = {row[0].replace("`", "") for row in rows}
            problems += [
                f"{doc.name}: the variables table lists {n}, no Airflow Variable" for n in listed - variables
            ]
            problems += [f"{doc.name}: the variables table misses {n}" for n in variables - listed]
    if not any(doc.tables("name") for doc in docs):
        problems.append("no page has the Airflow variables table")
    return problems


def config_key_problems(docs: list[Doc]) -> list[str]:
    keys = {f.name for f in dataclasses.fields(PipelineConfig)} - {"env_name"} | {"env"}
    problems = []
    for doc in docs:
        for key in re.findall(r"-c ([a-z_]+)=", doc.text):
            if key not in keys | {"key"}:  # `-c key=value`: the form itself
                problems.append(f"{doc.name}: `-c {key}=` is no configuration key")
        for header in ("part", "mode"):  # the cost tables: their last column names the keys
            for rows in doc.tables(header):
                for row in rows:
                    for name in _names(row[-1]) if len(row) > 2 else []:
                        if re.fullmatch(r"[a-z_]+", name) and name not in keys:
                            problems.append(f"{doc.name}: `{name}` (keys column) is no configuration key")
    return problems


@cache
def code_words() -> frozenset[str]:
    this_file = Path(__file__).relative_to(REPO).as_posix()  # its planted drifts are not code
    code = (
        REPO / f
        for f in repository_files()
        if not f.endswith((".md", ".lock")) and "package-lock" not in f and f != this_file
    )
    return frozenset(w for path in code for w in re.findall(r"\w+", path.read_text(errors="ignore")))


def name_problems(docs: list[Doc]) -> list[str]:
    """Every `snake_case` name the docs quote (a key, column, variable, attribute) is in the code."""
    return [
        f"{doc.name}: `{span}` appears nowhere in the code"
        for doc in docs
        for span in doc.spans
        if re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+", span) and span not in code_words()
    ]


# --- Self-contained: the constraints make lock uses ----------------------------------------------


def constraints_problems() -> list[str]:
    problems = []
    for name, value in re.findall(r"^(\w+)\s*[?:]?=\s*(\S.*)$", makefile(), flags=re.M):
        if "../" in value:
            problems.append(f"Makefile: {name} points outside the repository: {value}")
    constraints = re.search(r"^MWAA_CONSTRAINTS\s*\??=\s*(\S+)", makefile(), flags=re.M).group(1)
    copy = REPO / constraints
    if not copy.is_file():
        return [*problems, f"Makefile: MWAA_CONSTRAINTS {constraints} is no file of the repository"]
    source = re.search(r"copied from:\s*\n#\s*(\S+)", copy.read_text()).group(1)
    synth_copy = mwaa_constraints_file(PipelineConfig().airflow_version)
    if copy.resolve() != synth_copy:
        problems.append(f"Makefile: make lock reads {constraints}, synth checks MWAA against {synth_copy}")
    readme = (copy.parent / "README.md").read_text()
    if copy.name not in readme or source not in readme:
        problems.append(f"{copy.parent.name}/README.md does not give {copy.name}'s source {source}")
    return problems


# --- The tests -------------------------------------------------------------------------------------

CHECKS = {
    "paths": path_problems,
    "modules": module_problems,
    "links": link_problems,
    "undocumented modules": undocumented_modules,
    "make targets": make_problems,
    "undocumented make targets": undocumented_targets,
    "options": option_problems,
    "undocumented options": undocumented_options,
    "job arguments": job_argument_problems,
    "DAG params": dag_param_problems,
    "Airflow variables": airflow_variable_problems,
    "configuration keys": config_key_problems,
    "quoted names": name_problems,
}


@pytest.mark.parametrize("check", CHECKS)
def test_the_docs_name_what_exists_and_document_what_exists(check):
    assert CHECKS[check](load_docs()) == []


def test_make_lock_reads_the_constraints_copy_in_the_repository():
    assert constraints_problems() == []


def test_the_docs_name_every_kind_of_thing_these_checks_cover():
    """The checks see what they check (an empty match would make them pass on anything)."""
    docs = load_docs()
    assert {"README.md", "docs/DESIGN.md", "docs/configuration.md", "docs/deploy.md"} <= {
        d.name for d in docs
    }
    assert len([d for d in docs if d.tables("argument")]) >= 1
    assert set(cli_modules()) >= {"TRIGGER_ARGS", "REPORT_ARGS", "DEMO_ARGS", "BENCH_ARGS"}
    assert {"--env", "--recompute-dates"} <= cli_options("ops.trigger")
    assert {"recompute_dates", "replay_from", "replay_to"} == dag_params()
    assert len(source_modules()) > 40


# Each planted drift: a page that says it, and the words the problem must contain.
PLANTED = [
    ("the I/O in `glue_scripts/music_kpis/io.py`", path_problems, "io.py` names no file"),
    ("the I/O in `io.py` and `dynamo.py`", path_problems, "`io.py` names no file"),
    ("it calls `music_kpis.job.run_all`", module_problems, "music_kpis.job.run_all"),
    ("see [Athena](query.md#athena-queries)", link_problems, "no such heading"),
    ("see [the guide](../../shared/GUIDE.md)", link_problems, "leads to no file"),
    ("run `make deploi`", make_problems, "make deploi`: no such target"),
    ("run `make demo DEMO_DAYS=5`", make_problems, "reads no DEMO_DAYS"),
    ('```bash\nmake trigger TRIGGER_ARGS="--environment prod"\n```', option_problems, "has no --environment"),
    (
        "Options: `--env`, `--no-such-option`",
        option_problems,
        "`--no-such-option` is an option of no command",
    ),
    (
        "| argument | meaning |\n|---|---|\n| `--data_bucket` | the bucket |",
        job_argument_problems,
        "misses `--run_id`",
    ),
    ("the job reads `--data_bucket` and `--input_prefix`", job_argument_problems, "--input_prefix"),
    ("| param | shape |\n|---|---|\n| `recompute_dates` | dates |", dag_param_problems, "misses `replay_to`"),
    (
        "| name | value |\n|---|---|\n| `bucket_name` | the bucket |",
        airflow_variable_problems,
        "misses glue_job_name",
    ),
    (
        'make deploy CDK_ARGS="-c nat_gateway=2"',
        config_key_problems,
        "`-c nat_gateway=` is no configuration key",
    ),
    (
        "| part | cost | keys |\n|---|---|---|\n| NAT | $33 | `nat_gateway` |",
        config_key_problems,
        "`nat_gateway`",
    ),
    ("set `mwaa_min_worker` to 2", name_problems, "`mwaa_min_worker` appears nowhere"),
]


@pytest.mark.parametrize(("page", "check", "problem"), PLANTED, ids=[p[2] for p in PLANTED])
def test_a_planted_drift_fails_naming_it(page, check, problem):
    problems = check([Doc("docs/planted.md", page)])
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize(
    ("check", "removed", "problem"),
    [
        (
            undocumented_modules,
            "transforms.py",
            "glue_scripts/music_kpis/transforms.py is documented nowhere",
        ),
        (undocumented_targets, "make lock", "make lock is documented nowhere"),
        (undocumented_options, "--replay-from", "ops.trigger --replay-from is documented nowhere"),
        (
            job_argument_problems,
            "--recompute_dates",
            "Glue job argument --recompute_dates is documented nowhere",
        ),
        (dag_param_problems, "| param |", "no page has the DAG's param table"),
    ],
)
def test_what_exists_but_is_documented_nowhere_fails_naming_it(check, removed, problem):
    docs = [Doc(d.name, d.text.replace(removed, "")) for d in load_docs()]
    assert any(problem in p for p in check(docs)), check(docs)
