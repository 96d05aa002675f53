"""Configuration from cdk.json context: overrides, bad values, and a key that changes the stack."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from infra.config import CDK_JSON, ConfigError, PipelineConfig, cdk_context, default_database_name
from infra.log_groups import ALLOWED_RETENTION_DAYS


def _context(**overrides) -> dict:
    return {**cdk_context(), **overrides}


def test_cdk_json_environments_differ_where_prod_needs_it():
    dev = PipelineConfig.from_context(_context(env="dev"))
    prod = PipelineConfig.from_context(_context(env="prod"))
    assert (dev.mwaa_webserver_access_mode, prod.mwaa_webserver_access_mode) == (
        "PUBLIC_ONLY",
        "PRIVATE_ONLY",
    )
    assert (dev.nat_gateways, prod.nat_gateways) == (1, 2)
    assert (dev.retain_data, prod.retain_data) == (False, True)
    assert dev.vpc_cidr != prod.vpc_cidr  # side by side, and peerable later
    assert dev.log_retention_days in ALLOWED_RETENTION_DAYS


def test_command_line_overrides_arrive_as_strings_and_are_typed():
    config = PipelineConfig.from_context(
        _context(
            env="prod", glue_number_of_workers="4", retain_data="false", alert_email="oncall@example.com"
        )
    )
    assert config.glue_number_of_workers == 4
    assert config.retain_data is False
    assert config.alert_email == "oncall@example.com"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"nat_gateways": "3"}, "nat_gateways"),
        ({"glue_number_of_workers": "many"}, "glue_number_of_workers"),
        ({"env": "staging"}, "unknown environment 'staging'"),
        ({"alert_email": "oncall"}, "alert_email"),
        # Limits CloudFormation would only report half an hour into a deploy.
        ({"archive_transition_days": "29"}, "archive_transition_days must be at least 30"),
        ({"log_retention_days": "42"}, "log_retention_days"),
        ({"noncurrent_version_expiration_days": "0"}, "noncurrent_version_expiration_days"),
        ({"mwaa_max_workers": "26"}, "mwaa_max_workers must be at most 25"),
        ({"mwaa_environment_class": "mw1.huge"}, "mwaa_environment_class"),
        ({"glue_timeout_minutes": "10081"}, "glue_timeout_minutes"),
        ({"glue_execution_class": "SPOT"}, "glue_execution_class must be one of"),
        # Flex runs on G.1X and G.2X workers only (docs.aws.amazon.com/glue/latest/dg/add-job.html).
        ({"glue_execution_class": "FLEX", "glue_worker_type": "G.4X"}, "FLEX runs on"),
        ({"glue_auto_scaling": "maybe"}, "glue_auto_scaling"),
        ({"vpc_cidr": "10.40.0.0/20"}, "vpc_cidr must be /18"),
        ({"vpc_cidr": "10.40.0.0/33"}, "vpc_cidr must be an IPv4 network"),
        ({"database_name": "music-streams"}, "database_name"),
    ],
)
def test_bad_settings_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message):
        PipelineConfig.from_context(_context(**override))


def test_alert_email_subscribes_to_the_topic_and_bad_retention_is_refused(tmp_path):
    """Builds (does not synthesize) the app with both keys overridden: the construct tree is enough."""
    from aws_cdk import aws_sns as sns

    from infra.application import build_app

    _, stack = build_app(context=_context(alert_email="oncall@example.com"), outdir=str(tmp_path), nag=False)
    subscriptions = [c for c in stack.node.find_all() if isinstance(c, sns.CfnSubscription)]
    assert [(s.protocol, s.endpoint) for s in subscriptions] == [("email", "oncall@example.com")]
    with pytest.raises(ConfigError, match="log_retention_days"):
        build_app(context=_context(log_retention_days=42), outdir=str(tmp_path / "bad"), nag=False)


def test_mwaa_requirements_install_offline_against_the_environments_airflow_constraints(tmp_path):
    from infra.config import mwaa_constraints_file
    from infra.mwaa_sources import IMAGE_CONSTRAINTS_LINE, check_requirements_constraints
    from infra.stack import MWAA_REQUIREMENTS

    version = PipelineConfig().airflow_version
    constraints = mwaa_constraints_file(version)
    check_requirements_constraints(MWAA_REQUIREMENTS, version, constraints)

    def requirements(text: str) -> Path:
        path = tmp_path / f"requirements-{len(list(tmp_path.iterdir()))}.txt"
        path.write_text(text)
        return path

    url = MWAA_REQUIREMENTS.read_text().replace(
        IMAGE_CONSTRAINTS_LINE,
        '--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"',
    )
    with pytest.raises(ConfigError, match=r"constraint line must be .*AIRFLOW_CONSTRAINTS_FILE.*https://"):
        check_requirements_constraints(requirements(url), version, constraints)
    other_pin = MWAA_REQUIREMENTS.read_text().replace("==9.34.0", "==9.20.0")
    with pytest.raises(
        ConfigError, match=r"apache-airflow-providers-amazon==9\.20\.0 \(constraint 9\.34\.0\)"
    ):
        check_requirements_constraints(requirements(other_pin), version, constraints)
    with pytest.raises(ConfigError, match=r"not the constraints of Airflow 3\.0\.6"):
        check_requirements_constraints(MWAA_REQUIREMENTS, "3.0.6", constraints)
    with pytest.raises(ConfigError, match=r"no constraints copy"):
        check_requirements_constraints(MWAA_REQUIREMENTS, "3.0.6", mwaa_constraints_file("3.0.6"))


def test_an_environment_name_whose_bucket_names_outgrow_s3s_limit_is_refused_at_synth():
    """`env` enters every bucket name with the account and region; S3 allows 63 characters."""
    from infra.config import LONGEST_REGION_NAME

    context = _context()
    context["environments"]["integration-x"] = context["environments"]["dev"]
    with pytest.raises(
        ConfigError, match=rf"env 'integration-x' is too long: .* in region {LONGEST_REGION_NAME}"
    ):
        PipelineConfig.from_context({**context, "env": "integration-x"})
    context["environments"]["staging"] = context["environments"]["dev"]
    config = PipelineConfig.from_context({**context, "env": "staging"})
    longest = config.names("0" * 12, LONGEST_REGION_NAME)
    assert max(len(longest.data_bucket), len(longest.mwaa_source_bucket)) <= 63


def test_each_environment_gets_its_own_glue_database_and_prod_keeps_the_seeds():
    from music_contract import names

    assert PipelineConfig.from_context(_context(env="prod")).database_name == names.DEFAULT_DATABASE_NAME
    assert PipelineConfig.from_context(_context(env="dev")).database_name == "music_streams_dev"
    assert PipelineConfig(env_name="qa-2").database_name == "music_streams_qa_2"
    # An explicit name (adopting an existing database) wins.
    assert (
        PipelineConfig.from_context(_context(env="dev", database_name="legacy_db")).database_name
        == "legacy_db"
    )


def test_the_demo_uses_the_same_database_name_as_the_dev_stack():
    from local_run.resources import load_config

    assert load_config().database_name == PipelineConfig.from_context(_context(env="dev")).database_name


# --- Defaults are written once: PipelineConfig's fields; cdk.json and docs/configuration.md follow them ------

CONFIGURATION_DOC = CDK_JSON.parent / "docs" / "configuration.md"
# Documented key -> PipelineConfig field, where they differ.
_DOC_FIELD = {"env": "env_name"}


def _readme_cell(value) -> str:
    """How the configuration table (docs/configuration.md) writes a value."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return '`""`' if value == "" else f"`{value}`"


def _readme_configuration_rows() -> dict[str, list[str]]:
    """key -> [default, <one cell per cdk.json environment>, meaning] from docs/configuration.md's table."""
    text = CONFIGURATION_DOC.read_text()
    table = text[text.index("| key | default |") :].split("\n\n", 1)[0]
    rows = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            rows[cells[0].strip("`")] = cells[1:]
    return rows


def test_cdk_json_sets_only_what_an_environment_changes():
    defaults = {f.name: f.default for f in dataclasses.fields(PipelineConfig)}
    for env, settings in cdk_context()["environments"].items():
        repeated = sorted(key for key, value in settings.items() if defaults[key] == value)
        assert not repeated, f"cdk.json environments.{env} repeats the defaults of {repeated}"


def test_the_documented_configuration_table_is_the_dataclass_and_cdk_json():
    rows = _readme_configuration_rows()
    fields = {f.name: f for f in dataclasses.fields(PipelineConfig)}
    environments = cdk_context()["environments"]
    assert sorted(_DOC_FIELD.get(key, key) for key in rows) == sorted(fields)
    for key, (default, *env_cells, _meaning) in rows.items():
        field = fields[_DOC_FIELD.get(key, key)]
        if field.name == "database_name":  # empty means derived from the environment name
            assert f"`{default_database_name('prod')}`" in default, default
        else:
            assert default == _readme_cell(field.default), f"docs/configuration.md default of {key}"
        assert len(env_cells) == len(environments), (
            "one docs/configuration.md column per cdk.json environment"
        )
        for env, cell in zip(environments, env_cells, strict=True):
            expected = _readme_cell(environments[env][key]) if key in environments[env] else ""
            assert cell == expected, (
                f"docs/configuration.md {env} column of {key}: cdk.json says {expected or 'nothing'}"
            )


def test_load_reads_cdk_json_and_names_a_broken_file(tmp_path):
    assert PipelineConfig.load("prod") == PipelineConfig.from_context({**cdk_context(), "env": "prod"})
    assert PipelineConfig.load("prod", overrides={"nat_gateways": "1"}).nat_gateways == 1
    broken = tmp_path / "cdk.json"
    broken.write_text('{"context": {"environments": ["dev"]}}')
    with pytest.raises(ConfigError, match=r"cdk\.json.*environments"):
        PipelineConfig.load("dev", cdk_json=broken)
    broken.write_text("{")
    with pytest.raises(ConfigError, match=r"cdk\.json: cannot read"):
        PipelineConfig.load("dev", cdk_json=broken)


# --- A mistyped top-level key is refused, not ignored ---------------------------------------------


def test_an_unknown_top_level_key_is_refused_naming_the_closest_setting():
    with pytest.raises(ConfigError, match=r"'max_reject_ration'.*did you mean 'max_reject_ratio'"):
        PipelineConfig.from_context(_context(env="prod", max_reject_ration="0.1"))
    with pytest.raises(ConfigError, match=r"unknown configuration key 'zzz' .*; the settings are \["):
        PipelineConfig.from_context(_context(zzz="1"))


def test_the_cdks_own_context_keys_are_not_settings_and_pass():
    cdk_keys = {
        "@aws-cdk/core:someFutureFlag": True,  # feature flags
        "aws:cdk:enable-path-metadata": True,  # the CLI's settings
        "availability-zones:account=111122223333:region=eu-west-1": ["eu-west-1a"],  # cached lookups
        "acknowledged-issue-numbers": [12345],  # cdk acknowledge
    }
    assert PipelineConfig.from_context(_context(**cdk_keys)) == PipelineConfig.from_context(_context())


def test_the_app_refuses_a_mistyped_key_given_with_c(tmp_path):
    """`cdk synth -c max_reject_ration=0.1`: the CLI hands the app every context key; the app reads
    them all (not only the ones it knows), so the typo stops the synth instead of vanishing."""
    from infra.application import build_app

    with pytest.raises(ConfigError, match=r"did you mean 'max_reject_ratio'"):
        build_app(context=_context(max_reject_ration="0.1"), outdir=str(tmp_path), nag=False)
