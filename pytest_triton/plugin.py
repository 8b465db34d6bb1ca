"""pytest hooks and fixtures: a thin layer over TritonSession and the checks.

Inert until asked: loading the plugin registers and validates its options and nothing more. The server starts, and
torch, tritonclient and the rest are imported, when the first test asks for a Triton fixture (once per process,
once per xdist worker); a run that asks for none pays nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, ContextManager, Generator

import pytest

from pytest_triton import hookspecs
from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import SERVED
from pytest_triton.options import OPTIONS, read_options
from pytest_triton.outcomes import advised, note_failure, server_log_helps, triton_outcome
from pytest_triton.results_log import ResultsLog

if TYPE_CHECKING:
    from pytest_triton.baselines.context import BaselinesForRun
    from pytest_triton.checks.accuracy import AccuracyRun
    from pytest_triton.checks.accuracy_plan import AccuracyPlan
    from pytest_triton.checks.classification import ClassificationRun
    from pytest_triton.models.spec import ModelSpec
    from pytest_triton.models.variant import Variant
    from pytest_triton.perf.plan import PerfPlan
    from pytest_triton.search.plan import SearchPlan
    from pytest_triton.session import TritonSession
    from pytest_triton.settings import Settings
    from pytest_triton.turns import Turns

session_key = pytest.StashKey["TritonSession"]()
variants_key = pytest.StashKey[list["Variant"]]()
variants_error_key = pytest.StashKey[str]()
user_specs_key = pytest.StashKey[list["ModelSpec"]]()
results_dir_key = pytest.StashKey[Path]()
turns_key = pytest.StashKey["Turns"]()


@dataclass(frozen=True)
class _Options:
    """The options as typed settings and plans."""

    settings: Settings
    perf: PerfPlan
    accuracy: AccuracyPlan
    search: SearchPlan


options_key = pytest.StashKey[_Options]()

_SERVER = "server"  # results-log kind: what each process's server said about itself


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("triton", "Triton Inference Server")
    for option in OPTIONS:
        if option.is_switch:
            group.addoption(
                f"--{option.flag}", action="store_true", default=None, dest=option.dest, help=option.help_text
            )
            parser.addini(option.dest, option.help_text, type="bool", default=False)
        elif option.multiple:
            group.addoption(f"--{option.flag}", action="append", default=None, dest=option.dest, help=option.help_text)
            parser.addini(option.dest, option.help_text, type="linelist", default=[])
        else:
            group.addoption(f"--{option.flag}", default=None, dest=option.dest, help=option.help_text)
            parser.addini(option.dest, option.help_text, default=option.default)


def _value(config: pytest.Config, dest: str) -> object:
    """The command line wins over the ini key."""
    given = config.getoption(dest)
    return given if given is not None else config.getini(dest)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return getattr(config, "workerinput", None) is not None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "triton: the test talks to a Triton server (started once per process)")
    config.addinivalue_line(
        "markers", "triton_zoo_model(name): a test about that zoo model, deselected where the run does not check it"
    )
    if _is_xdist_worker(config):
        # Workers write where the controller reads, for the summary and report.
        config.stash[results_dir_key] = Path(config.workerinput["triton_results_dir"])  # type: ignore[attr-defined]
    if any(_is_given(config, option.dest, option.default) for option in OPTIONS):
        _options(config)  # a bad value stops the run now, before any test
    if _value(config, "triton_suites"):
        _collect_shipped_suites(config)


def _collect_shipped_suites(config: pytest.Config) -> None:
    """--triton-suites: the installed suites' directory replaces the default paths (testpaths, the current
    directory) or joins the paths given. The project's own conftest.py was loaded for those default paths already,
    so its pytest_triton_models hook applies; its ini keys apply since the rootdir is the project's. Idempotent,
    since xdist workers get the controller's paths and configure again."""
    import importlib.util

    spec = importlib.util.find_spec("pytest_triton.suites")
    assert spec is not None and spec.submodule_search_locations  # part of the package
    # The directory, not its files: node ids then read test_parity.py::..., not ::... (pytest makes ids of paths
    # outside the rootdir relative to the path given).
    suites = str(Path(spec.submodule_search_locations[0]))
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        config.args[:] = []
    if suites not in config.args:
        config.args.append(suites)


def _is_given(config: pytest.Config, dest: str, default: str | None) -> bool:
    return _value(config, dest) not in (None, "", [], False, default)


def _options(config: pytest.Config) -> _Options:
    """The options as typed settings and plans, made once; a bad value is a usage error naming the option. Options
    left at their defaults are read only when a test needs them, so that runs without Triton import nothing."""
    if options_key not in config.stash:
        from pytest_triton.checks.accuracy_plan import AccuracyPlan
        from pytest_triton.models.zoo import ZOO
        from pytest_triton.perf.plan import PerfPlan
        from pytest_triton.search.plan import SearchPlan
        from pytest_triton.settings import Settings

        known = (*ZOO, *(spec.name for spec in _user_specs(config)))
        try:
            values = read_options(lambda dest: _value(config, dest), known)
        except TritonPluginError as error:
            raise pytest.UsageError(advised(error)) from None
        settings = Settings.from_options(values)
        if len(settings.remotes) > 1 and not _is_xdist_worker(config):
            _check_fleet(config, settings)
        perf, accuracy = PerfPlan.from_options(values), AccuracyPlan.from_options(values)
        search = SearchPlan.from_options(values, perf.settings, config.rootpath / "triton-search")
        worker, index = _worker()
        config.stash[options_key] = _Options(settings.for_worker(index, worker is not None), perf, accuracy, search)
    return config.stash[options_key]


def _check_fleet(config: pytest.Config, settings: Settings) -> None:
    """Several remote servers are checked by one xdist worker each, every worker running every test."""
    count = len(settings.remotes)
    workers = config.getoption("numprocesses", None) or 0
    if workers != count or config.getoption("dist", None) != "each":
        servers = ", ".join(str(remote) for remote in settings.remotes)
        raise pytest.UsageError(
            f"--triton-url names {count} servers ({servers}): each is checked by an xdist worker of its own, "
            f"every worker running every test; run with -n {count} --dist each"
        )


def _worker() -> tuple[str | None, int]:
    """This process's xdist worker name and index (None, 0 outside xdist). Read from the environment, which inner
    pytest runs inherit, so that those too take the port range of the worker they run in."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return worker, int(worker.removeprefix("gw") or 0) if worker else 0


def _user_specs(config: pytest.Config) -> list[ModelSpec]:
    """The specs of the project's pytest_triton_models hooks, asked for once."""
    if user_specs_key not in config.stash:
        config.stash[user_specs_key] = [
            s for specs in config.hook.pytest_triton_models(config=config) for s in specs or []
        ]
    return config.stash[user_specs_key]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: hand each worker the directory its results go to."""
    node.workerinput["triton_results_dir"] = str(_results(node.config).directory)


def _turns(config: pytest.Config) -> Turns | None:
    """Under xdist, this worker's turns on the machine: Triton tests share it, perf measurements have it alone.
    None in a single process, which takes its turns in order anyway."""
    if not _is_xdist_worker(config):
        return None
    if turns_key not in config.stash:
        from pytest_triton.turns import Turns

        config.stash[turns_key] = Turns(config.stash[results_dir_key] / "turns")
    return config.stash[turns_key]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    # Setup and teardown included: the server starts and the exports run inside the first test's setup.
    turns = _turns(item.config) if "triton_session" in getattr(item, "fixturenames", ()) else None
    if turns is None:
        return (yield)
    with turns.shared():
        return (yield)


def _results(config: pytest.Config) -> ResultsLog:
    """This process's results log; the controller (or a single process) makes its directory at first use."""
    if results_dir_key not in config.stash:
        config.stash[results_dir_key] = Path(tempfile.mkdtemp(prefix="pytest-triton-results-"))
    return ResultsLog(config.stash[results_dir_key], _worker()[0] or "main")


def _variants(config: pytest.Config) -> list[Variant]:
    """The model x format x precision combinations of this run; making the zoo's specs imports torch, so only a
    run that collects a Triton test makes them."""
    if variants_key not in config.stash:
        from pytest_triton.variants import select_specs, select_variants

        settings = _options(config).settings
        # Asking a remote server which models it serves can fail: every module that asks says why, asking once.
        if variants_error_key in config.stash:
            raise pytest.Collector.CollectError(config.stash[variants_error_key])
        try:
            config.stash[variants_key] = select_variants(settings, select_specs(settings, _user_specs(config)))
        except TritonPluginError as error:
            config.stash[variants_error_key] = f"pytest-triton: {advised(error)}"
            raise pytest.Collector.CollectError(config.stash[variants_error_key]) from None
    return config.stash[variants_key]


def _started_session(config: pytest.Config) -> TritonSession:
    """The server of this process, started at the first test that needs one."""
    if session_key in config.stash:
        return config.stash[session_key]
    from pytest_triton.session import TritonSession

    worker, worker_index = _worker()
    settings = _options(config).settings
    cache_dir = settings.cache_dir or _default_cache_dir(config)
    triton = TritonSession(
        settings=settings,
        work_dir=Path(tempfile.mkdtemp(prefix=f"pytest-triton-{worker or 'gw0'}-")),
        cache_dir=cache_dir,
        worker_index=worker_index,
    )
    config.stash[session_key] = triton  # closed and its work directory removed at unconfigure, started or not
    facts = triton.start()
    _results(config).append(_SERVER, asdict(facts))
    return triton


def _baselines_root(config: pytest.Config) -> Path:
    return Path(str(_value(config, "triton_baselines_dir") or config.rootpath / "baselines"))


def _default_cache_dir(config: pytest.Config) -> Path:
    """Exports live in pytest's cache (.pytest_cache), or in the temp dir when the cache plugin is off."""
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("triton-exports"))
    return Path(tempfile.gettempdir()) / "pytest-triton-exports"


def _server_lines(log: ResultsLog) -> list[str]:
    """What the servers of this run said about themselves, one line per kind of server (xdist: one server per
    worker), with the slowest start."""
    starts: dict[str, list[float]] = {}
    for facts in log.read(_SERVER):
        at = f" at {facts['address']}" if facts.get("address") else ""
        line = (
            f"triton: server {facts['version']}, launch mode {facts['launch_mode']}{at}, device {facts['device']}, "
            f"backends {', '.join(facts['backends']) or 'unknown (not our server)'}"
        )
        starts.setdefault(line, []).append(facts["start_seconds"])
    return [
        f"{line}, ready in {max(seconds):.1f} s" + (f" ({len(seconds)} servers)" if len(seconds) > 1 else "")
        for line, seconds in starts.items()
    ]


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if _is_xdist_worker(config) or results_dir_key not in config.stash:
        return
    log = _results(config)
    if log.empty:
        return  # no test asked for Triton
    from pytest_triton.baselines.context import remote_scope
    from pytest_triton.baselines.hardware import hardware_facts
    from pytest_triton.report.run import finish, legacy_baselines_note

    lines = _server_lines(log)
    triton = config.stash.get(session_key, None)
    if triton is not None and triton.facts is not None:
        lines.append(f"triton: {triton.summary()}")
    report_dir = _value(config, "triton_report")
    settings = _options(config).settings
    if settings.remotes:  # perf was measured on the remote servers, whose hardware this machine cannot see
        scopes = [remote_scope(r.url(settings.protocol), settings.hardware) for r in settings.remotes]
        scope = ", ".join(dict.fromkeys(scopes))
        named = (
            "as --triton-hardware names it"
            if settings.hardware
            else "by host: name its hardware with --triton-hardware"
        )
        notes = [f"triton: the remote server's perf baselines are filed under {scope} ({named})"]
    else:
        hardware = hardware_facts(settings.gpus)
        scope, notes = hardware.key(), legacy_baselines_note(_baselines_root(config), hardware, settings.gpus)
    history = _value(config, "triton_history")
    lines += finish(
        log,
        Path(str(report_dir)) if report_dir else None,
        {"hardware": scope},
        notes,
        history_dir=Path(str(history)) if history else None,
    )
    for line in lines:
        terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the server last, also after Ctrl-C or an internal error (pytest always unconfigures), and remove the
    temporary directories this process made."""
    triton = config.stash.get(session_key, None)
    if triton is not None:
        triton.close()
        shutil.rmtree(triton.work_dir, ignore_errors=True)
        del config.stash[session_key]
    turns = config.stash.get(turns_key, None)
    if turns is not None:
        turns.close()
    if not _is_xdist_worker(config) and results_dir_key in config.stash:
        shutil.rmtree(config.stash[results_dir_key], ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "triton_variant" in metafunc.fixturenames:
        variants = _variants(metafunc.config)
        metafunc.parametrize("triton_variant", variants, ids=[v.id for v in variants], scope="session")
    if "triton_perf_point" in metafunc.fixturenames:
        try:
            points = _options(metafunc.config).perf.points(_variants(metafunc.config))
        except TritonPluginError as error:
            raise pytest.Collector.CollectError(f"pytest-triton: {advised(error)}") from None
        metafunc.parametrize("triton_perf_point", points, ids=[p.id for p in points])
    if "triton_search_model" in metafunc.fixturenames:
        # Off by default: one test that says how to ask for it, rather than one per model.
        searched = (
            [v.spec for v in _variants(metafunc.config) if v.format != SERVED]
            if _options(metafunc.config).search.mode != "off"
            else []
        )
        specs: list[ModelSpec | None] = [*{spec.name: spec for spec in searched}.values()] or [None]
        metafunc.parametrize(
            "triton_search_model", specs, ids=[s.name if s else "off" for s in specs], indirect=True, scope="session"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests about one zoo model (its own accuracy target) are deselected where the run does not check that model:
    a team checking its own models sees no skips about models it never asked for."""
    about = {item: marker.args[0] for item in items for marker in item.iter_markers("triton_zoo_model")}
    if not about:
        return
    try:
        checked = {variant.spec.name for variant in _variants(config)}
    except pytest.Collector.CollectError:
        return  # the modules that ask for the variants say why there are none
    unchecked = {item for item, model in about.items() if model not in checked}
    if unchecked:
        config.hook.pytest_deselected(items=[item for item in items if item in unchecked])
        items[:] = [item for item in items if item not in unchecked]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    triton = item.config.stash.get(session_key, None)
    uses_triton = "triton_session" in getattr(item, "fixturenames", ())
    if report.failed and triton is not None and triton.server is not None and uses_triton:
        failed = call.excinfo.value if call.excinfo is not None else None
        note_failure(failed, item.nodeid)
        tail = triton.log_tail(30) if server_log_helps(failed) else ""
        if tail:
            report.sections.append(("tritonserver log (tail)", tail))
        if len(triton.settings.remotes) > 1:  # which server of the fleet answered so
            report.sections.append(("triton server", str(triton.settings.remote)))
    return report


@pytest.fixture(scope="session")
def triton_session(pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> TritonSession:
    """The started TritonSession of this process. A server that cannot start stops the run after this test with
    the reason (pytest caches the failure, so no other test tries again); in a fleet only its own worker's tests
    error, and the other servers' workers go on."""
    try:
        return _started_session(pytestconfig)
    except TritonPluginError as error:
        message = f"pytest-triton: {advised(error)}"
    if len(_options(pytestconfig).settings.remotes) < 2:
        request.session.shouldfail = message
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def triton_models(pytestconfig: pytest.Config) -> list[ModelSpec]:
    """The ModelSpecs this run checks, each once (zoo and conftest models)."""
    return list({v.spec.name: v.spec for v in _variants(pytestconfig)}.values())


@pytest.fixture(scope="session")
def triton_settings(pytestconfig: pytest.Config) -> Settings:
    return _options(pytestconfig).settings


@pytest.fixture
def triton_deployment(triton_session: TritonSession, triton_variant: Variant):
    """The variant exported and loaded on the server (once per session: the session keeps it); skipped with the
    reason where it cannot run here. Per test, so that a variant that cannot be deployed fails one test and the
    others skip, pointing at it, where pytest would raise a session fixture's failure again in each."""
    with triton_outcome():
        return triton_session.deployment(triton_variant.spec, triton_variant.format, triton_variant.precision)


@pytest.fixture(scope="session")
def triton_perf_plan(pytestconfig: pytest.Config) -> PerfPlan:
    return _options(pytestconfig).perf


@pytest.fixture(scope="session")
def triton_search_model(request: pytest.FixtureRequest) -> ModelSpec:
    """A model the config search searches; skips where there is none, before a server starts."""
    if request.param is None:
        if _options(request.config).search.mode == "off":
            pytest.skip("the config search is off: --triton-search=quick or brute runs it")
        pytest.skip(
            "the config search deploys each candidate configuration of models this run exports: it cannot search "
            "the models a remote server or an existing repository serves"
        )
    return request.param


@pytest.fixture(scope="session")
def triton_search_plan(pytestconfig: pytest.Config) -> SearchPlan:
    """What --triton-search and its options ask for (mode "off": check the stored recommendations)."""
    return _options(pytestconfig).search


@pytest.fixture(scope="session")
def triton_results(pytestconfig: pytest.Config) -> ResultsLog:
    """Where suites leave figures for the terminal summary and the --triton-report directory."""
    return _results(pytestconfig)


@pytest.fixture(scope="session")
def triton_baselines(pytestconfig: pytest.Config, triton_session: TritonSession) -> BaselinesForRun:
    """Baselines of this run, one BaselineContext per suite name."""
    from pytest_triton.baselines.context import BaselinesForRun

    facts = triton_session.facts
    return BaselinesForRun(
        root=_baselines_root(pytestconfig),
        gpus=triton_session.settings.gpus,
        remote_url=triton_session.settings.url,
        remote_hardware=triton_session.settings.hardware,
        server_version=facts.version if facts else None,
        backends=facts.backends if facts else None,
        update=bool(_value(pytestconfig, "update_baselines")),
        strict=bool(_value(pytestconfig, "triton_strict_baselines")),
    )


@pytest.fixture
def triton_measuring(pytestconfig: pytest.Config) -> Callable[[], ContextManager[None]]:
    """A context manager factory a measurement runs in: under xdist it waits until no other worker runs a
    Triton test, and holds the machine alone meanwhile; in a single process it does nothing."""
    turns = _turns(pytestconfig)
    return turns.alone if turns is not None else contextlib.nullcontext


@pytest.fixture
def triton_progress(pytestconfig: pytest.Config, request: pytest.FixtureRequest):
    """A function that prints a progress line now, past output capture, during a long measurement; the line names
    the suite ("triton perf:", "triton search:")."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")
    suite = request.module.__name__.rpartition(".")[2].removeprefix("test_")  # test_perf.py -> "perf"

    def progress(line: str) -> None:
        if reporter is None or _is_xdist_worker(pytestconfig):
            return  # xdist workers have no terminal; the summary shows the figures
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"  triton {suite}: {line}")

    return progress


@pytest.fixture(scope="session")
def triton_accuracy(pytestconfig: pytest.Config, triton_session: TritonSession) -> AccuracyRun:
    """SQuAD sets and in-process reference results, made once per model for the whole run."""
    from pytest_triton.checks.accuracy import AccuracyRun

    return AccuracyRun(
        plan=_options(pytestconfig).accuracy,
        data_dir=triton_session.cache_dir / "squad",
        device=triton_session.settings.device,
    )


@pytest.fixture(scope="session")
def triton_classification(pytestconfig: pytest.Config, triton_session: TritonSession) -> ClassificationRun:
    """The image set and in-process reference top-k of classifiers, made once per model for the whole run."""
    from pytest_triton.checks.classification import ClassificationRun

    return ClassificationRun(
        plan=_options(pytestconfig).accuracy,
        data_dir=triton_session.cache_dir / "images",
        device=triton_session.settings.device,
    )


@pytest.fixture(scope="session")
def triton_report_dir(pytestconfig: pytest.Config) -> Path | None:
    """--triton-report's directory, where suites may leave files of their own (SQuAD predictions)."""
    value = _value(pytestconfig, "triton_report")
    return Path(str(value)) if value else None
