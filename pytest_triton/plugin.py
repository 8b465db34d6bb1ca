"""pytest hooks and fixtures: a thin layer over TritonSession and the checks."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from pytest_triton import hookspecs
from pytest_triton.baselines.hardware import hardware_facts
from pytest_triton.errors import ModelLoadError, TritonPluginError, Unsupported
from pytest_triton.models.zoo import ZOO
from pytest_triton.session import TritonSession
from pytest_triton.settings import OPTIONS, Settings
from pytest_triton.variants import Variant, select_specs, select_variants
from pytest_triton.checks.accuracy import AccuracyPlan, AccuracyRun
from pytest_triton.perf.plan import PerfPlan
from pytest_triton.results_log import ResultsLog
from pytest_triton import reporting

settings_key = pytest.StashKey[Settings]()
session_key = pytest.StashKey[TritonSession]()
variants_key = pytest.StashKey[list[Variant]]()
perf_plan_key = pytest.StashKey[PerfPlan]()
accuracy_plan_key = pytest.StashKey[AccuracyPlan]()
results_key = pytest.StashKey[ResultsLog]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("triton", "Triton Inference Server")
    for option in OPTIONS:
        if option.is_switch:
            group.addoption(f"--{option.flag}", action="store_true", default=None, dest=option.dest, help=option.help)
            parser.addini(option.dest, option.help, type="bool", default=False)
        elif option.multiple:
            group.addoption(f"--{option.flag}", action="append", default=None, dest=option.dest, help=option.help)
            parser.addini(option.dest, option.help, type="linelist", default=[])
        else:
            group.addoption(f"--{option.flag}", default=None, dest=option.dest, help=option.help)
            parser.addini(option.dest, option.help, default=option.default)


def _value(config: pytest.Config, dest: str) -> object:
    """The command line wins over the ini key."""
    given = config.getoption(dest)
    return given if given is not None else config.getini(dest)


def _is_xdist_controller(config: pytest.Config) -> bool:
    return config.pluginmanager.hasplugin("dsession")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "triton: the test talks to a Triton server (started once per process)")
    user_specs = [spec for specs in config.hook.pytest_triton_models(config=config) for spec in specs or []]
    known = (*ZOO, *(s.name for s in user_specs))
    try:
        settings = Settings.from_values(lambda dest: _value(config, dest), known)
        specs = select_specs(settings, user_specs)
        config.stash[perf_plan_key] = PerfPlan.from_values(lambda dest: _value(config, dest))
        config.stash[accuracy_plan_key] = AccuracyPlan.from_values(lambda dest: _value(config, dest))
    except TritonPluginError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[settings_key] = settings
    config.stash[variants_key] = select_variants(settings, specs)
    # Workers write where the controller (or this single process) reads, for the summary and report.
    workerinput = getattr(config, "workerinput", None)
    results_dir = workerinput["triton_results_dir"] if workerinput else tempfile.mkdtemp(prefix="pytest-triton-results-")
    config.stash[results_key] = ResultsLog(Path(results_dir), os.environ.get("PYTEST_XDIST_WORKER", "main"))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """xdist: hand each worker the directory its results go to."""
    node.workerinput["triton_results_dir"] = str(node.config.stash[results_key].directory)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Start the server before the header is printed, so the header can name its version and backends."""
    config = session.config
    if _is_xdist_controller(config) or session_key in config.stash:
        return  # each xdist worker starts its own server on ports of its own range
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    worker_index = int(worker.removeprefix("gw") or 0)
    settings = config.stash[settings_key].for_worker(worker_index, "PYTEST_XDIST_WORKER" in os.environ)
    config.stash[settings_key] = settings
    triton = TritonSession(
        settings=settings,
        work_dir=Path(tempfile.mkdtemp(prefix=f"pytest-triton-{worker}-")),
        cache_dir=settings.cache_dir or _default_cache_dir(config),
        worker_index=worker_index,
    )
    try:
        triton.start()
    except TritonPluginError as error:
        raise pytest.UsageError(f"pytest-triton: {error}") from None
    config.stash[session_key] = triton


def _baselines_root(config: pytest.Config) -> Path:
    return Path(str(_value(config, "triton_baselines_dir") or config.rootpath / "baselines"))


def _default_cache_dir(config: pytest.Config) -> Path:
    """Exports live in pytest's cache (.pytest_cache), or in the temp dir when the cache plugin is off."""
    cache = getattr(config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("triton-exports"))
    return Path(tempfile.gettempdir()) / "pytest-triton-exports"


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[settings_key]
    if session_key not in config.stash:
        return [f"triton: launch mode {settings.launch_mode}, device {settings.device}; one server per xdist worker"]
    facts = config.stash[session_key].facts
    assert facts is not None
    return [
        f"triton: server {facts.version}, launch mode {facts.launch_mode}, device {facts.device}, "
        f"backends {', '.join(facts.backends) or 'unknown (not our server)'}, ready in {facts.start_seconds:.1f} s"
    ]


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    triton = config.stash.get(session_key, None)
    if triton is not None:
        terminalreporter.write_line(f"triton: {triton.summary()}")
    if getattr(config, "workerinput", None) is None:
        report_dir = _value(config, "triton_report")
        gpus = config.stash[settings_key].gpus
        hardware = hardware_facts(gpus)
        notes = reporting.legacy_baselines_note(_baselines_root(config), hardware, gpus)
        lines = reporting.finish(
            config.stash[results_key], Path(str(report_dir)) if report_dir else None, {"hardware": hardware.key()}, notes
        )
        for line in lines:
            terminalreporter.write_line(line)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the server last, also after Ctrl-C or an internal error (pytest always unconfigures)."""
    triton = config.stash.get(session_key, None)
    if triton is not None:
        triton.close()
        del config.stash[session_key]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "triton_variant" in metafunc.fixturenames:
        variants = metafunc.config.stash[variants_key]
        metafunc.parametrize("triton_variant", variants, ids=[v.id for v in variants], scope="session")
    if "triton_perf_point" in metafunc.fixturenames:
        points = metafunc.config.stash[perf_plan_key].points(metafunc.config.stash[variants_key])
        metafunc.parametrize("triton_perf_point", points, ids=[p.id for p in points])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    report = yield
    triton = item.config.stash.get(session_key, None)
    if report.failed and triton is not None and triton.server is not None and "triton_session" in item.fixturenames:
        tail = triton.server.log_tail(30)
        if tail:
            report.sections.append(("tritonserver log (tail)", tail))
    return report


@pytest.fixture(scope="session")
def triton_session(pytestconfig: pytest.Config) -> TritonSession:
    """The started TritonSession of this process."""
    if session_key not in pytestconfig.stash:
        pytest.fail("pytest-triton: no server was started in this process", pytrace=False)
    return pytestconfig.stash[session_key]


@pytest.fixture(scope="session")
def triton_models(pytestconfig: pytest.Config) -> list:
    """The ModelSpecs this run checks, each once (zoo and conftest models)."""
    return list({v.spec.name: v.spec for v in pytestconfig.stash[variants_key]}.values())


@pytest.fixture(scope="session")
def triton_settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[settings_key]


@pytest.fixture(scope="session")
def triton_deployment(triton_session: TritonSession, triton_variant: Variant):
    """The variant exported and loaded on the server; skipped with the reason where it cannot run here."""
    try:
        return triton_session.deployment(triton_variant.spec, triton_variant.format, triton_variant.precision)
    except Unsupported as reason:
        pytest.skip(str(reason))
    except (ModelLoadError, TritonPluginError) as error:
        pytest.fail(str(error), pytrace=False)


@pytest.fixture(scope="session")
def triton_perf_plan(pytestconfig: pytest.Config) -> PerfPlan:
    return pytestconfig.stash[perf_plan_key]


@pytest.fixture(scope="session")
def triton_results(pytestconfig: pytest.Config) -> ResultsLog:
    """Where suites leave figures for the terminal summary and the --triton-report directory."""
    return pytestconfig.stash[results_key]


@pytest.fixture(scope="session")
def triton_baselines(pytestconfig: pytest.Config, triton_session: TritonSession):
    """Baselines of this run, one BaselineContext per suite name."""
    return reporting.BaselinesForRun(
        root=_baselines_root(pytestconfig),
        session=triton_session,
        update=bool(_value(pytestconfig, "update_baselines")),
        strict=bool(_value(pytestconfig, "triton_strict_baselines")),
    )


@pytest.fixture
def triton_progress(pytestconfig: pytest.Config, request: pytest.FixtureRequest):
    """A function that prints a progress line now, past output capture, during a long measurement."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")

    def progress(line: str) -> None:
        if reporter is None or getattr(pytestconfig, "workerinput", None) is not None:
            return  # xdist workers have no terminal; the summary shows the figures
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"  triton perf: {line}")

    return progress


@pytest.fixture(scope="session")
def triton_accuracy(pytestconfig: pytest.Config, triton_session: TritonSession) -> AccuracyRun:
    """SQuAD sets and in-process reference results, made once per model for the whole run."""
    return AccuracyRun(
        plan=pytestconfig.stash[accuracy_plan_key],
        data_dir=triton_session.cache_dir / "squad",
        device=triton_session.settings.device,
    )


@pytest.fixture(scope="session")
def triton_report_dir(pytestconfig: pytest.Config) -> Path | None:
    """--triton-report's directory, where suites may leave files of their own (SQuAD predictions)."""
    value = _value(pytestconfig, "triton_report")
    return Path(str(value)) if value else None
