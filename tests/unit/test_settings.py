"""Every option's parsing and validation (options.read_options), fed as the plugin feeds it (a `get(dest)`), and
the Settings built from the values."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pytest_triton.checks.tolerance import DEFAULT_TOLERANCES
from pytest_triton.errors import TritonPluginError
from pytest_triton.kinds import DEFAULT_PRECISIONS, FORMATS, PRECISIONS
from pytest_triton.models.spec import Tolerance
from pytest_triton.models.zoo import ZOO
from pytest_triton.options import OPTIONS, read_options
from pytest_triton.server.endpoint import RemoteAddress
from pytest_triton.settings import Settings

KNOWN = tuple(ZOO)


def defaults() -> dict[str, object]:
    """What the plugin's `_value` yields when nothing is given: the ini defaults of each option."""
    values: dict[str, object] = {}
    for option in OPTIONS:
        if option.is_switch:
            values[option.dest] = False
        elif option.multiple:
            values[option.dest] = []
        else:
            values[option.dest] = option.default
    return values


def make(known: tuple[str, ...] = KNOWN, **given: object) -> Settings:
    values = defaults()
    unknown = set(given) - set(values)
    assert not unknown, f"test typo: {unknown}"
    values.update(given)
    # __getitem__, not .get: a dest the library asks for that no option declares fails loudly.
    return Settings.from_options(read_options(values.__getitem__, known))


def error_of(**given: object) -> str:
    with pytest.raises(TritonPluginError) as info:
        make(**given)
    return str(info.value)


# -- defaults -----------------------------------------------------------------------------------


def test_defaults():
    settings = make()
    assert settings.launch_mode == "local"
    assert settings.url is None
    assert settings.server_binary is None
    assert settings.protocol == "grpc"
    assert settings.formats == ("onnx",)  # on the CPU; every format on a GPU (test_gpu_runs_check_every_format)
    assert settings.precisions == DEFAULT_PRECISIONS == ("fp32", "fp16")  # bf16 is asked for
    assert settings.models == ()
    assert settings.gpus == ()
    assert settings.device == "cpu"
    assert settings.checkpoints == {}
    assert settings.tolerances.by_precision == DEFAULT_TOLERANCES and not settings.tolerances.by_output
    assert settings.start_timeout == 120.0
    assert settings.cache_dir is None
    assert settings.security.ssl is False
    assert settings.security.headers == {}
    assert settings.security.root_certificates is None


def test_all_none_is_the_same_as_defaults():
    """A get() that knows nothing at all (every value None) still gives the defaults."""
    settings = Settings.from_options(read_options(lambda dest: None, KNOWN))
    assert settings == make()


def test_every_option_has_a_unique_flag_and_dest():
    flags = [o.flag for o in OPTIONS]
    assert len(flags) == len(set(flags))
    assert all(o.dest == o.flag.replace("-", "_") for o in OPTIONS)
    # The plugin's own namespace, and the two names the issues fix: --update-baselines, --squad-file (and its kin).
    assert all(o.flag.startswith(("triton-", "squad-")) or o.flag == "update-baselines" for o in OPTIONS)


# -- choices ------------------------------------------------------------------------------------


def test_models_formats_precisions_parsed_as_comma_lists_and_deduplicated():
    settings = make(
        triton_models="resnext-small, bert-tiny,resnext-small",
        triton_formats="onnx,ts-trace",
        triton_precisions="fp16",
    )
    assert settings.models == ("resnext-small", "bert-tiny")
    assert settings.formats == ("onnx", "ts-trace")
    assert settings.precisions == ("fp16",)


def test_list_options_accept_ini_linelists():
    """An ini linelist arrives as a list of lines; each line may itself be a comma list."""
    settings = make(triton_formats=["onnx", "ts-script,ts-trace"])
    assert settings.formats == ("onnx", "ts-script", "ts-trace")


@pytest.mark.parametrize(
    "dest, flag, bad, choices",
    [
        ("triton_models", "triton-models", "resnet50", KNOWN),
        ("triton_formats", "triton-formats", "savedmodel", FORMATS),
        ("triton_precisions", "triton-precisions", "int8", PRECISIONS),
    ],
)
def test_unknown_choice_lists_the_valid_ones(dest, flag, bad, choices):
    message = error_of(**{dest: f"{choices[0]},{bad}"})
    assert f"--{flag}" in message
    assert repr(bad) in message
    for choice in choices:
        assert choice in message


def test_user_models_are_known_when_passed_as_known():
    settings = make(known=(*KNOWN, "my-model"), triton_models="my-model")
    assert settings.models == ("my-model",)


def test_gpu_runs_check_every_format():
    assert make(triton_gpu="0").formats == FORMATS


def test_empty_formats_fall_back_to_the_default():
    assert make(triton_formats=" , ").formats == ("onnx",)
    assert make(triton_precisions="").precisions == DEFAULT_PRECISIONS


def test_bad_launch_mode_lists_choices():
    message = error_of(triton_launch_mode="kubernetes")
    assert "--triton-launch-mode='kubernetes'" in message
    assert "local" in message and "remote" in message and "docker" in message


def test_bad_protocol_lists_choices():
    message = error_of(triton_url="h:8001", triton_protocol="rest")
    assert "--triton-protocol" in message and "grpc" in message and "http" in message


# -- url and launch mode ------------------------------------------------------------------------


def test_url_implies_remote():
    settings = make(triton_url="triton.internal:8001")
    assert settings.launch_mode == "remote"
    assert settings.url == "triton.internal:8001"


def test_url_with_explicit_local_mode_still_means_remote():
    """The mode's default is 'local', so an explicit local cannot be told apart from the default: the url wins."""
    assert make(triton_launch_mode="local", triton_url="h:1").launch_mode == "remote"


def test_remote_with_http_protocol():
    settings = make(triton_launch_mode="remote", triton_url="10.0.0.1:8000", triton_protocol="http")
    assert (settings.launch_mode, settings.protocol) == ("remote", "http")


def test_remote_without_url():
    message = error_of(triton_launch_mode="remote")
    assert "--triton-url" in message


@pytest.mark.parametrize("url", ["localhost", "localhost:", ":8001", "host:port", "host:0", "host:65536", "host:-1"])
def test_bad_host_port(url):
    message = error_of(triton_url=url)
    assert message == f"--triton-url={url}: expected [grpc://|http://]HOST:PORT, e.g. triton.internal:8001"


@pytest.mark.parametrize("url", ["h:1", "h:65535", "[::1]:8001", "10.1.2.3:8001"])
def test_good_host_port(url):
    assert make(triton_url=url).url == url


@pytest.mark.parametrize(
    ("url", "says"),
    [("https://h:443", "unknown scheme https://; TLS is --triton-ssl"), ("ftp://h:1", "unknown scheme ftp://; use")],
)
def test_url_with_another_scheme_is_refused(url, says):
    assert error_of(triton_url=url).startswith(f"--triton-url={url}: {says}")


def test_a_scheme_names_the_protocol_over_the_default():
    settings = make(triton_url="http://h:8000")
    assert (settings.remotes, settings.protocol, settings.url) == ((RemoteAddress(http="h:8000"),), "http", "h:8000")


def test_a_hosts_grpc_and_http_addresses_are_one_server_over_both():
    settings = make(triton_url=["grpc://h:8001", "http://h:8000"], triton_protocol="http")
    assert settings.remotes == (RemoteAddress(grpc="h:8001", http="h:8000"),)
    assert (settings.protocol, settings.url) == ("http", "h:8000")


def test_other_addresses_are_a_fleet_by_host_and_workers_take_one_each():
    settings = make(triton_url=["b:8001", "grpc://a:8001", "http://a:8000", "b:9001", "b:8001"])
    assert settings.remotes == (
        RemoteAddress(grpc="b:8001"),
        RemoteAddress(grpc="b:9001"),
        RemoteAddress(grpc="a:8001", http="a:8000"),
    )
    assert [settings.for_worker(i, True).url for i in range(4)] == ["b:8001", "b:9001", "a:8001", "b:8001"]
    assert settings.for_worker(1, False).url == "b:8001"  # one process: the first


def test_addresses_from_a_file(tmp_path):
    fleet = tmp_path / "fleet.txt"
    fleet.write_text("# one server per node\nnode1:8001\n\nnode2:8001  # the spare\n")
    assert make(triton_url=[f"@{fleet}"]).remotes == (
        RemoteAddress(grpc="node1:8001"),
        RemoteAddress(grpc="node2:8001"),
    )
    assert error_of(triton_url=[f"@{tmp_path / 'none.txt'}"]).startswith(
        f"--triton-url=@{tmp_path / 'none.txt'}: cannot read the file of addresses: No such file"
    )


def test_hardware_names_a_remote_servers_baselines():
    assert make(triton_url="h:8001", triton_hardware="gpu-h100-80gb").hardware == "gpu-h100-80gb"
    assert "use lower-case letters" in error_of(triton_url="h:8001", triton_hardware="H100 80GB")
    assert "names a remote server's hardware" in error_of(triton_hardware="gpu-h100")


def test_a_remote_servers_metrics_port_gives_the_metrics_address_on_its_host():
    from pytest_triton.server.remote import RemoteServer

    settings = make(triton_url=["http://triton.internal:8000"], triton_metrics_port="8002")
    assert settings.remote is not None and settings.metrics_port == 8002
    endpoint = RemoteServer(settings.remote, metrics_port=settings.metrics_port).endpoint()
    assert endpoint.metrics_url == "triton.internal:8002" and endpoint.http_url == "triton.internal:8000"
    assert RemoteServer(settings.remote).endpoint().metrics_url is None
    assert "expected a port number, 1 to 65535" in error_of(triton_url="h:8001", triton_metrics_port="80000")
    assert "a local or docker server's is known" in error_of(triton_metrics_port="8002")


# -- GPUs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, gpus, device", [("0", (0,), "cuda:0"), ("2,0", (2, 0), "cuda:2"), (" 1 , 3", (1, 3), "cuda:1")]
)
def test_gpu_list(value, gpus, device):
    settings = make(triton_gpu=value)
    assert settings.gpus == gpus
    assert settings.device == device


@pytest.mark.parametrize("value", ["a", "0,,1", "0;1", "cuda:0", "1.5"])
def test_gpu_not_a_number(value):
    message = error_of(triton_gpu=value)
    assert "--triton-gpu" in message and "comma list" in message


def test_gpu_negative():
    assert "0 or more" in error_of(triton_gpu="0,-1")


# -- headers and TLS ----------------------------------------------------------------------------


def test_headers_parsed():
    settings = make(triton_header=["Authorization=Bearer abc=def", " X-Team =ml"])
    # Only the first '=' splits; the key is stripped and lower-cased (gRPC metadata keys must be), the
    # value kept exactly as given.
    assert settings.security.headers == {"authorization": "Bearer abc=def", "x-team": "ml"}


def test_header_single_value_from_ini_string():
    assert make(triton_header="K=V").security.headers == {"k": "V"}


def test_header_with_an_empty_value_is_kept():
    assert make(triton_header=["x-empty="]).security.headers == {"x-empty": ""}


@pytest.mark.parametrize("key", ["bad key", "k\u00e9y", "a/b"])
def test_header_name_must_be_a_valid_token(key):
    message = error_of(triton_header=[f"{key}=s3cr3t-value"])
    assert "--triton-header #1" in message and "may hold only letters, digits" in message
    assert "s3cr3t-value" not in message and key not in message


def test_headers_are_not_in_the_repr():
    settings = make(triton_header=["Authorization=Bearer s3cr3t-value"])
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in repr(settings.security)


@pytest.mark.parametrize("item", ["Authorization: Bearer s3cr3t-value", "=s3cr3t-value", "  =s3cr3t-value"])
def test_bad_header_does_not_echo_the_secret(item):
    message = error_of(triton_header=["Good=1", item])
    assert "--triton-header" in message and "KEY=VALUE" in message
    assert "s3cr3t-value" not in message


def test_bad_header_that_is_only_a_token_does_not_echo_it():
    message = error_of(triton_header=["s3cr3t-value"])
    assert "s3cr3t" not in message


def test_bad_header_name_does_not_echo_a_token_before_the_equals_sign():
    message = error_of(triton_header=["Authorization: Basic dXNlcjpzM2NyM3Q="])
    assert "dxnlcjpzm2nym3q" not in message.lower()


def test_ssl_and_root_certs(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    settings = make(triton_url="h:443", triton_ssl=True, triton_root_certs=str(ca))
    assert settings.security.ssl is True
    assert settings.security.root_certificates == str(ca)


# -- checkpoints --------------------------------------------------------------------------------


def test_checkpoint_model_equals_path(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"")
    settings = make(triton_checkpoint=[f"resnext-small={weights}"])
    assert settings.checkpoints == {"resnext-small": weights}


def test_checkpoint_bare_path_with_one_selected_model(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"")
    settings = make(triton_models="bert-tiny", triton_checkpoint=[str(weights)])
    assert settings.checkpoints == {"bert-tiny": weights}


@pytest.mark.parametrize("models", [None, "bert-tiny,resnext-small"])
def test_checkpoint_bare_path_needs_one_model(tmp_path, models):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"")
    message = error_of(triton_models=models, triton_checkpoint=[str(weights)])
    assert "MODEL=PATH" in message and "--triton-models" in message


def test_checkpoint_missing_file(tmp_path):
    missing = tmp_path / "nope.pt"
    message = error_of(triton_checkpoint=[f"bert-tiny={missing}"])
    assert str(missing) in message and "does not exist" in message and "bert-tiny" in message


def test_checkpoint_unknown_model(tmp_path):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"")
    message = error_of(triton_checkpoint=[f"gpt2={weights}"])
    assert "'gpt2'" in message
    for name in KNOWN:
        assert name in message


def test_checkpoint_for_a_model_only_a_remote_server_knows_is_accepted(tmp_path):
    """A FasterTransformer deployment is named as its operators named it; the server says whether it exists."""
    settings = make(triton_url="host:8001", triton_checkpoint=[f"fastertransformer={tmp_path}"])
    assert settings.checkpoints == {"fastertransformer": tmp_path}


def test_checkpoint_directory_is_accepted(tmp_path):
    """A Hugging Face directory for BERT is a valid checkpoint path."""
    settings = make(triton_checkpoint=[f"bert-tiny={tmp_path}"])
    assert settings.checkpoints["bert-tiny"] == tmp_path


def test_checkpoint_for_several_models(tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"")
    b.write_bytes(b"")
    settings = make(triton_checkpoint=[f"bert-tiny={a}", f"resnext-small={b}"])
    assert settings.checkpoints == {"bert-tiny": a, "resnext-small": b}


# -- tolerances, timeout, paths -----------------------------------------------------------------


def test_tolerance_override():
    settings = make(triton_tolerance=["fp16:atol=0.1", "fp32:mean_abs=2e-4,atol=5e-3", "fp16/end_logits:rtol=0.5"])
    fp16 = DEFAULT_TOLERANCES["fp16"]
    assert settings.tolerances.by_precision["fp16"] == Tolerance(0.1, fp16.rtol, fp16.mean_abs)
    assert settings.tolerances.by_precision["fp32"] == Tolerance(5e-3, DEFAULT_TOLERANCES["fp32"].rtol, 2e-4)
    assert settings.tolerances.for_output("fp16", "end_logits") == Tolerance(0.1, 0.5, fp16.mean_abs)


@pytest.mark.parametrize("item", ["int8:atol=1", "fp16", "fp16:", "fp16:max=1", "fp16:atol=x", "fp16:max_abs=1"])
def test_bad_tolerance(item):
    message = error_of(triton_tolerance=[item])
    assert "--triton-tolerance" in message and repr(item) in message


@pytest.mark.parametrize("value, seconds", [("30", 30.0), ("0.5", 0.5), ("1e3", 1000.0)])
def test_start_timeout(value, seconds):
    assert make(triton_start_timeout=value).start_timeout == seconds


@pytest.mark.parametrize("value", ["0", "-5", "soon", "-inf"])
def test_bad_start_timeout(value):
    message = error_of(triton_start_timeout=value)
    assert "--triton-start-timeout" in message and "positive" in message


def test_start_timeout_nan_is_rejected():
    with pytest.raises(TritonPluginError):
        make(triton_start_timeout="nan")


def test_start_timeout_unset_falls_back_to_120():
    assert make(triton_start_timeout=None).start_timeout == 120.0


def test_server_binary_stub_python_and_cache_dir_become_paths(tmp_path):
    settings = make(
        triton_server=str(tmp_path / "tritonserver"),
        triton_stub_python=str(tmp_path / "env/bin/python"),
        triton_cache_dir=str(tmp_path / "cache"),
    )
    assert settings.server_binary == tmp_path / "tritonserver"
    assert settings.stub_python == tmp_path / "env/bin/python"
    assert settings.cache_dir == tmp_path / "cache"
    assert isinstance(settings.cache_dir, Path)


def test_last_value_of_a_repeated_single_option_wins():
    """A single-valued option given as a list (e.g. by an ini file) takes its last element."""
    assert make(triton_start_timeout=["10", "20"]).start_timeout == 20.0
    assert not math.isnan(make().start_timeout)


def test_for_worker_splits_gpus_among_xdist_workers():
    settings = make(triton_gpu="0,1,2")
    assert settings.for_worker(4, is_xdist_worker=True).gpus == (1,)
    assert settings.for_worker(4, is_xdist_worker=True).device == "cuda:1"
    assert settings.for_worker(4, is_xdist_worker=False) is settings  # one process keeps every GPU
    single = make(triton_gpu="3")
    assert single.for_worker(5, is_xdist_worker=True) is single
    assert make().for_worker(1, is_xdist_worker=True).gpus == ()


# -- existing repositories and served models ------------------------------------------------------


REPOSITORY = Path(__file__).resolve().parents[1] / "e2e" / "others_repository"


def test_model_repository_models_are_the_known_names():
    settings = make(triton_model_repository=str(REPOSITORY), triton_models=["add_sub"])
    assert settings.model_repository == REPOSITORY
    assert settings.models == ("add_sub",)


def test_model_repository_names_a_missing_model():
    message = error_of(triton_model_repository=str(REPOSITORY), triton_models=["bert-tiny"])
    assert message == "--triton-models: unknown 'bert-tiny'; valid choices: add_sub, no_config, scale, text_length"


def test_model_repository_that_is_no_directory(tmp_path):
    message = error_of(triton_model_repository=str(tmp_path / "nowhere"))
    assert "is not a directory; give the directory that holds one subdirectory per model" in message


def test_model_repository_without_models(tmp_path):
    (tmp_path / ".git").mkdir()
    assert "holds no model directories" in error_of(triton_model_repository=str(tmp_path))


def test_model_repository_with_a_remote_url_is_refused():
    message = error_of(triton_model_repository=str(REPOSITORY), triton_url="h:8001")
    assert "a remote server serves its own repository" in message


def test_remote_models_are_not_checked_against_local_names():
    assert make(triton_url="h:8001", triton_models=["their-model"]).models == ("their-model",)


def test_input_shapes():
    settings = make(triton_input_shape=["input_ids=128", "my-model/image=3x224X224"])
    assert settings.input_shapes == {"input_ids": (128,), "my-model/image": (3, 224, 224)}


@pytest.mark.parametrize("item", ["input_ids", "=3", "x=", "x=0", "x=3,4", "x=ax2"])
def test_bad_input_shape(item):
    message = error_of(triton_input_shape=[item])
    assert message.startswith(f"--triton-input-shape={item!r}: expected [MODEL/]INPUT=SIZExSIZE...")


def test_a_file_of_addresses_that_holds_none(tmp_path):
    empty = tmp_path / "fleet.txt"
    empty.write_text("# nothing yet\n\n")
    assert (
        error_of(triton_url=[f"@{empty}"])
        == f"--triton-url=@{empty}: the file of addresses holds none (one HOST:PORT a line)"
    )


def test_golden_options(tmp_path):
    (tmp_path / "file").write_text("")
    assert "it is a file; give a directory" in error_of(triton_save_golden=str(tmp_path / "file"))
    assert "no such directory; save golden outputs there first" in error_of(triton_golden=str(tmp_path / "none"))
    assert "either checks against golden outputs or saves them" in error_of(
        triton_golden=str(tmp_path), triton_save_golden=str(tmp_path / "new")
    )
    assert make(triton_save_golden=str(tmp_path / "new")).save_golden_dir == tmp_path / "new"


def test_a_perf_precision_the_run_does_not_deploy_is_refused_instead_of_measuring_nothing():
    message = error_of(triton_perf_precisions="bf16")
    assert "--triton-perf-precisions: the run does not deploy bf16 (--triton-precisions=fp32,fp16)" in message
    both = make(triton_precisions="fp32,fp16,bf16", triton_perf_precisions="bf16")
    assert both.precisions == ("fp32", "fp16", "bf16")
    # Left at its default, the perf precision asks nothing of a run that deploys fp16 alone.
    assert make(triton_precisions="fp16").precisions == ("fp16",)


# -- the baseline deployment (--triton-perf-against) ------------------------------------------------------------


def test_a_baseline_deployment_is_a_directory_or_a_server(tmp_path):
    settings = make(triton_perf_against=str(tmp_path), triton_perf_against_model=["bert-tiny=bert_prod"])
    assert settings.perf_against is not None and settings.perf_against.directory == tmp_path
    assert settings.perf_against.names == {"bert-tiny": "bert_prod"}
    remote = make(triton_perf_against="http://prod.internal:8000").perf_against
    assert remote is not None and remote.address == RemoteAddress(http="prod.internal:8000")
    assert make(triton_perf_against="prod.internal:8001").perf_against.address == RemoteAddress(
        grpc="prod.internal:8001"
    )
    assert make().perf_against is None and make().save_deployment is None


def test_a_baseline_that_is_neither_says_what_to_give(tmp_path):
    message = error_of(triton_perf_against=str(tmp_path / "missing"))
    assert message.startswith(f"--triton-perf-against='{tmp_path / 'missing'}': no such directory, and not a server's")
    assert "--triton-save-deployment" in message
    assert "expected CANDIDATE=BASELINE" in error_of(triton_perf_against=str(tmp_path), triton_perf_against_model=["x"])
    assert "give --triton-perf-against" in error_of(triton_perf_against_model=["a=b"])
    (tmp_path / "file").write_text("")
    assert "it is a file" in error_of(triton_save_deployment=str(tmp_path / "file"))


def test_the_side_by_side_budget_is_the_perf_plans(tmp_path):
    from pytest_triton.perf.plan import PerfPlan

    values = defaults()
    values.update(triton_perf_against=str(tmp_path), triton_perf_against_budget="12")
    plan = PerfPlan.from_options(read_options(values.__getitem__, KNOWN))
    assert plan.against is not None and plan.against.budget_s == 12.0
    values.update(triton_perf_against=None)
    assert PerfPlan.from_options(read_options(values.__getitem__, KNOWN)).against is None
