"""Template-wide wiring rules: what a first deploy into a real account would hit.

Each test is a generic rule over every resource of the synthesized templates (every environment of
cdk.json, synthesized in one app as they would live side by side), not one assertion per resource:
a resource added later is checked without a new test.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from aws_cdk import CfnElement

from infra.monitoring import GLUE_METRIC_TYPES
from infra.mwaa_environment import MWAA_LOG_GROUP_TYPES
from infra.mwaa_execution_role import MWAA_SOURCE_BUCKET_READ_ACTIONS

PSEUDO = {"AWS::AccountId", "AWS::Region", "AWS::Partition", "AWS::URLSuffix"}
# Condition keys that tie a service principal's use of a resource to this account and a resource.
SCOPING_CONDITION_KEYS = ("aws:SourceArn", "aws:SourceAccount", "kms:EncryptionContext:", "kms:ViaService")
# Services whose roles are passed to them (iam:PassRole guards who may); their guides document no
# aws:SourceArn/aws:SourceAccount for the role's trust, and Lambda and Glue do not set them.
PASSED_ROLE_SERVICES = {"lambda.amazonaws.com", "glue.amazonaws.com"}
# Services that document confused-deputy conditions on the role they assume:
# MWAA (mwaa-create-role.html), VPC Flow Logs (flow-logs-iam-role.html).
SOURCE_CONDITIONED_SERVICES = {
    "airflow.amazonaws.com",
    "airflow-env.amazonaws.com",
    "vpc-flow-logs.amazonaws.com",
}
# Resource types that hold the pipeline's data, and properties naming a resource physically.
DATA_RESOURCE_TYPES = {"AWS::S3::Bucket", "AWS::DynamoDB::Table"}
NAME_PROPERTIES = (
    "BucketName",
    "TableName",
    "TopicName",
    "AlarmName",
    "DashboardName",
    "LogGroupName",
    "AliasName",
    "RoleName",
    "ManagedPolicyName",
    "FunctionName",
    "Name",
)
# aws-cdk-lib's own custom-resource providers: Lambda functions the pipeline does not write logs with.
CDK_PROVIDER_PREFIXES = ("Custom::", "CustomS3AutoDeleteObjects", "CustomVpcRestrictDefaultSG")


def render(value: Any, template: dict[str, Any]) -> str:
    """A template value as a string: pseudo parameters as ``${AWS::...}``, other references and
    attributes as ``${LogicalId}``/``${LogicalId.Attr}``, joins joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), *_ = value.items()
        if fn == "Ref":
            return f"${{{arg}}}"
        if fn == "Fn::GetAtt":
            return f"${{{arg[0]}.{arg[1]}}}"
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(render(part, template) for part in parts)
    return json.dumps(value, sort_keys=True)


def is_physical_name(text: str) -> bool:
    """A name fixed by the template (only pseudo parameters left to resolve), not a reference."""
    refs = {part.split("}", 1)[0] for part in text.split("${")[1:]}
    return refs <= PSEUDO


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def service_principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    if not isinstance(principal, dict):
        return []
    return [s if isinstance(s, str) else json.dumps(s) for s in as_list(principal.get("Service", []))]


def condition_values(statement: dict[str, Any], key: str) -> list[Any]:
    """Every value of condition key ``key`` under any operator."""
    return [
        value
        for operator in statement.get("Condition", {}).values()
        for condition_key, value in operator.items()
        if condition_key == key
    ]


def ref_target(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return value["Fn::GetAtt"][0]
    return None


def topic_policy_statements(synth, topic_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.resources("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in policy["Properties"]["Topics"]
        for statement in statements(policy["Properties"]["PolicyDocument"])
    ]


def key_statements(synth, key_id: str) -> list[dict[str, Any]]:
    return statements(synth.template["Resources"][key_id]["Properties"]["KeyPolicy"])


def allows(statement: dict[str, Any], service: str, action: str) -> bool:
    return (
        statement["Effect"] == "Allow"
        and service in service_principals(statement)
        and any(fnmatch.fnmatchcase(action, a) for a in as_list(statement["Action"]))
    )


def matches_source(statement: dict[str, Any], arn: str, template: dict[str, Any]) -> bool:
    patterns = [render(v, template) for v in condition_values(statement, "aws:SourceArn")]
    return any(fnmatch.fnmatchcase(arn, pattern) for pattern in patterns)


def this_account(statement: dict[str, Any]) -> bool:
    return {"Ref": "AWS::AccountId"} in condition_values(statement, "aws:SourceAccount")


# --- 1. Side by side ------------------------------------------------------------------------------


def physical_names(synth) -> dict[str, str]:
    """Rendered physical name -> the resource holding it (Glue tables by database and name)."""
    names = {}
    for logical_id, resource in synth.template["Resources"].items():
        props = resource.get("Properties", {})
        candidates = [props.get(key) for key in NAME_PROPERTIES]
        candidates.append(props.get("DatabaseInput", {}).get("Name"))
        if resource["Type"] == "AWS::Glue::Table":
            candidates = [{"Fn::Join": [".", [props["DatabaseName"], props["TableInput"]["Name"]]]}]
        if resource["Type"] == "AWS::Athena::NamedQuery":  # a saved query's name is its workgroup's
            candidates = [{"Fn::Join": [".", [props["WorkGroup"], props["Name"]]]}]
        for candidate in candidates:
            if candidate is None:
                continue
            text = render(candidate, synth.template)
            if is_physical_name(text):
                names[f"{resource['Type']}:{text}"] = logical_id
    return names


def test_no_physical_name_is_shared_by_two_environments(synthesized):
    seen: dict[str, str] = {}
    for env, synth in synthesized.items():
        names = physical_names(synth)
        assert names, env
        for name in names:
            assert name not in seen, f"{name} is used by {seen.get(name)} and {env}"
            seen[name] = env


# --- 2. Alarms and rules can deliver ---------------------------------------------------------------


def test_every_alarm_action_topic_allows_cloudwatch_to_publish_for_that_alarm(each_env):
    template = each_env.template
    alarms = {
        **each_env.resources("AWS::CloudWatch::Alarm"),
        **each_env.resources("AWS::CloudWatch::CompositeAlarm"),
    }
    assert sum(bool(a["Properties"].get("AlarmActions")) for a in alarms.values()) >= 5
    for alarm_id, alarm in alarms.items():
        props = alarm["Properties"]
        alarm_arn = f"arn:${{AWS::Partition}}:cloudwatch:${{AWS::Region}}:${{AWS::AccountId}}:alarm:{props['AlarmName']}"
        actions = [
            *props.get("AlarmActions", []),
            *props.get("OKActions", []),
            *props.get("InsufficientDataActions", []),
        ]
        # An alarm without actions pages through a composite alarm (the next test).
        for action in actions:
            topic_id = ref_target(action)
            assert template["Resources"][topic_id]["Type"] == "AWS::SNS::Topic", (alarm_id, action)
            grants = [
                s
                for s in topic_policy_statements(each_env, topic_id)
                if allows(s, "cloudwatch.amazonaws.com", "sns:Publish")
                and this_account(s)
                and matches_source(s, alarm_arn, template)
            ]
            assert grants, f"{topic_id}'s policy does not let CloudWatch publish for {alarm_arn}"
            key_id = ref_target(template["Resources"][topic_id]["Properties"].get("KmsMasterKeyId"))
            if key_id:
                assert any(
                    allows(s, "cloudwatch.amazonaws.com", "kms:GenerateDataKey")
                    and allows(s, "cloudwatch.amazonaws.com", "kms:Decrypt")
                    and matches_source(s, alarm_arn, template)
                    for s in key_statements(each_env, key_id)
                ), f"{key_id} does not let CloudWatch encrypt for {alarm_arn}"


def test_every_eventbridge_target_allows_its_rule_by_arn(each_env):
    template = each_env.template
    rules = each_env.resources("AWS::Events::Rule")
    assert rules
    for rule_id, rule in rules.items():
        rule_arn = f"arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{rule['Properties']['Name']}"
        for target in rule["Properties"]["Targets"]:
            topic_id = ref_target(target["Arn"])
            assert template["Resources"][topic_id]["Type"] == "AWS::SNS::Topic", (rule_id, target)
            topic_grants = [
                s
                for s in topic_policy_statements(each_env, topic_id)
                if allows(s, "events.amazonaws.com", "sns:Publish")
            ]
            assert topic_grants, f"{topic_id} does not let EventBridge publish"
            for grant in topic_grants:  # every grant names the rule, none is open to every rule
                assert matches_source(grant, rule_arn, template), grant
                assert this_account(grant), grant
            key_id = ref_target(template["Resources"][topic_id]["Properties"].get("KmsMasterKeyId"))
            if key_id:
                topic_arn = f"arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:{template['Resources'][topic_id]['Properties']['TopicName']}"
                assert any(
                    allows(s, "events.amazonaws.com", "kms:GenerateDataKey")
                    and [
                        render(v, template)
                        for v in condition_values(s, "kms:EncryptionContext:aws:sns:topicArn")
                    ]
                    == [topic_arn]
                    for s in key_statements(each_env, key_id)
                ), f"{key_id} does not let EventBridge encrypt for {topic_arn}"


def test_every_publisher_to_an_encrypted_topic_may_use_its_key(each_env):
    """An IAM principal's sns:Publish to a KMS-encrypted topic fails without the key (the DAG's alerts)."""
    template = each_env.template
    encrypted = {
        i: ref_target(t["Properties"]["KmsMasterKeyId"])
        for i, t in each_env.resources("AWS::SNS::Topic").items()
        if "KmsMasterKeyId" in t["Properties"]
    }
    publishers = 0
    for policy_id, policy in each_env.resources("AWS::IAM::ManagedPolicy").items():
        document = statements(policy["Properties"]["PolicyDocument"])
        for statement in document:
            if "sns:Publish" not in as_list(statement["Action"]):
                continue
            for topic_id in {ref_target(r) for r in as_list(statement["Resource"])} & set(encrypted):
                publishers += 1
                key_arn = render({"Fn::GetAtt": [encrypted[topic_id], "Arn"]}, template)
                assert any(
                    "kms:GenerateDataKey" in as_list(s["Action"])
                    and key_arn in [render(r, template) for r in as_list(s["Resource"])]
                    for s in document
                ), f"{policy_id} publishes to {topic_id} but cannot use {encrypted[topic_id]}"
    assert publishers


def test_every_alarm_without_an_alarm_action_pages_through_a_composite_alarm(each_env):
    """An alarm that does not page by itself is an input of a composite alarm that does."""
    composites = [r["Properties"] for r in each_env.resources("AWS::CloudWatch::CompositeAlarm").values()]
    assert composites
    for alarm_id, alarm in each_env.resources("AWS::CloudWatch::Alarm").items():
        if alarm["Properties"].get("AlarmActions"):
            continue
        assert any(
            f"${{{alarm_id}.Arn}}" in render(c["AlarmRule"], each_env.template) and c.get("AlarmActions")
            for c in composites
        ), alarm_id


# --- 3. Keys and role trusts ---------------------------------------------------------------------


def test_every_key_grant_to_a_service_principal_carries_a_scoping_condition(each_env):
    keys = each_env.resources("AWS::KMS::Key")
    for key_id in keys:
        for statement in key_statements(each_env, key_id):
            if statement["Effect"] != "Allow" or not service_principals(statement):
                continue
            condition_keys = [k for operator in statement.get("Condition", {}).values() for k in operator]
            assert any(k.startswith(SCOPING_CONDITION_KEYS) for k in condition_keys), (key_id, statement)


def test_the_data_key_is_not_in_the_alert_path(each_env):
    data_key = each_env.logical_id(each_env.stack.storage.key)
    principals = {p for s in key_statements(each_env, data_key) for p in service_principals(s)}
    assert not principals & {"cloudwatch.amazonaws.com", "events.amazonaws.com"}


def test_every_key_limits_grants_to_aws_services(each_env):
    """Control Tower CT.KMS.PR.3, as a rule of its own so the reason stays visible."""
    for key_id in each_env.resources("AWS::KMS::Key"):
        assert any(
            s["Effect"] == "Deny"
            and s["Action"] == "kms:CreateGrant"
            and s["Condition"]["BoolIfExists"]
            == {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
            for s in key_statements(each_env, key_id)
        ), key_id


def test_every_service_role_trust_carries_a_confused_deputy_condition(each_env):
    roles = each_env.resources("AWS::IAM::Role")
    checked = 0
    for role_id, role in roles.items():
        for statement in statements(role["Properties"]["AssumeRolePolicyDocument"]):
            for service in service_principals(statement):
                if service in PASSED_ROLE_SERVICES:
                    continue
                assert service in SOURCE_CONDITIONED_SERVICES, (
                    f"{role_id}: decide how {service} is conditioned"
                )
                assert this_account(statement), (role_id, service)
                assert condition_values(statement, "aws:SourceArn"), (role_id, service)
                checked += 1
    assert checked >= 3  # MWAA's two principals and VPC Flow Logs


# --- 4. Logs the pipeline writes ------------------------------------------------------------------


def written_log_groups(synth) -> set[str]:
    """Names of the log groups the services write to, derived from the resources that write."""
    groups = set()
    for env in synth.resources("AWS::MWAA::Environment").values():
        logging = env["Properties"]["LoggingConfiguration"]
        enabled = {k for k, v in logging.items() if v["Enabled"]}
        assert len(enabled) == len(MWAA_LOG_GROUP_TYPES)
        groups |= {f"airflow-{env['Properties']['Name']}-{t}" for t in MWAA_LOG_GROUP_TYPES.values()}
    for job in synth.resources("AWS::Glue::Job").values():
        # Glue 5: <prefix>/output and <prefix>/error, the only form AWS documents for the prefix
        # (docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html, "Custom logging").
        base = job["Properties"]["DefaultArguments"]["--custom-logGroup-prefix"]
        groups |= {f"{base}/output", f"{base}/error"}
    for flow_log in synth.resources("AWS::EC2::FlowLog").values():
        groups.add(render(flow_log["Properties"]["LogGroupName"], synth.template))
    for logical_id, function in synth.resources("AWS::Lambda::Function").items():
        if logical_id.startswith(CDK_PROVIDER_PREFIXES):
            continue
        groups.add(render(function["Properties"]["LoggingConfig"]["LogGroup"], synth.template))
    return groups


def test_every_log_group_the_pipeline_writes_to_is_owned_with_retention_and_key(each_env):
    owned = {}
    for logical_id, group in each_env.resources("AWS::Logs::LogGroup").items():
        props = group["Properties"]
        name = (
            render(props["LogGroupName"], each_env.template)
            if "LogGroupName" in props
            else f"${{{logical_id}}}"
        )
        owned[name] = props
    written = written_log_groups(each_env)
    assert len(written) >= len(MWAA_LOG_GROUP_TYPES) + 3
    for name in written:
        assert name in owned, f"{name} is written to but not owned by the stack"
        assert owned[name]["RetentionInDays"] == each_env.config.log_retention_days, name
        assert ref_target(owned[name]["KmsKeyId"]) == each_env.logical_id(each_env.stack.storage.key), name


def test_the_glue_log_groups_are_exactly_the_documented_names(each_env):
    """No name of a form AWS does not document (the role's or security configuration's name in it)."""
    (job,) = each_env.resources("AWS::Glue::Job").values()
    prefix = job["Properties"]["DefaultArguments"]["--custom-logGroup-prefix"]
    glue_groups = {
        render(g["Properties"]["LogGroupName"], each_env.template)
        for g in each_env.resources("AWS::Logs::LogGroup").values()
        if "LogGroupName" in g["Properties"] and "/aws-glue/" in json.dumps(g["Properties"]["LogGroupName"])
    }
    assert glue_groups == {f"{prefix}/output", f"{prefix}/error"}


def test_the_glue_role_may_write_the_owned_glue_log_groups(each_env):
    policy = json.dumps(each_env.template["Resources"][each_env.logical_id(each_env.stack.glue_job.policy)])
    assert "log-group:/aws-glue/*" in policy  # covers <prefix>/output and <prefix>/error


# --- 5. Retries after a failed create ---------------------------------------------------------------


def keys_encrypting(synth, resource: dict[str, Any]) -> set[str]:
    text = json.dumps(resource.get("Properties", {}))
    return {key_id for key_id in synth.resources("AWS::KMS::Key") if f'"{key_id}"' in text}


def kept_buckets(synth) -> set[str]:
    """Buckets that outlive the stack (plain Retain): the access-log bucket (infra/storage.py)."""
    return {i for i, r in synth.resources("AWS::S3::Bucket").items() if r.get("DeletionPolicy") == "Retain"}


def test_named_data_survives_updates_and_deletes_but_not_a_failed_create(each_env):
    retained = each_env.stack.storage.retain_data
    resources = each_env.template["Resources"]
    kept = kept_buckets(each_env)
    data = {i: r for i, r in resources.items() if r["Type"] in DATA_RESOURCE_TYPES and i not in kept}
    data_keys = {key for r in data.values() for key in keys_encrypting(each_env, r)}
    assert data
    assert data_keys
    for logical_id in [*data, *data_keys]:
        resource = resources[logical_id]
        expected = ("RetainExceptOnCreate", "Retain") if retained else ("Delete", "Delete")
        assert (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) == expected, logical_id
    for logical_id, resource in resources.items():
        # Plain Retain keeps a resource after a failed create: with a fixed name, the retry fails.
        if resource.get("DeletionPolicy") == "Retain":
            assert logical_id in kept, logical_id
            assert "BucketName" not in resource["Properties"], logical_id


def test_the_access_log_bucket_outlives_the_stack_and_empties_itself(each_env):
    """Late server access logs (S3 delivers them best-effort, hours later) would refill an emptied log
    bucket and fail its delete: it is kept on delete and on a failed create, holds no name a re-create
    needs, is emptied by nothing of the stack, and expires its logs by lifecycle."""
    logs_id = each_env.logical_id(each_env.stack.storage.access_logs_bucket)
    assert kept_buckets(each_env) == {logs_id}
    bucket = each_env.template["Resources"][logs_id]
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert "BucketName" not in bucket["Properties"]
    emptied = json.dumps(
        [r for r in each_env.template["Resources"].values() if r["Type"].startswith("Custom::")]
    )
    assert f'"{logs_id}"' not in emptied  # no auto-delete, not in the failed-create cleanup
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    expiry = next(r for r in rules if r["Id"] == "expire-access-logs")
    assert expiry["ExpirationInDays"] == each_env.config.log_retention_days


def test_a_failed_create_can_delete_every_data_resource(each_env):
    """Rollback deletes data resources only when nothing blocks it: buckets are emptied first (CDK's
    auto-delete without retained data, the failed-create cleanup with it), and every deletion-protected
    table is unprotected by the cleanup."""
    resources = each_env.template["Resources"]
    buckets = set(each_env.resources("AWS::S3::Bucket")) - kept_buckets(each_env)
    protected_tables = {
        i
        for i, r in each_env.resources("AWS::DynamoDB::Table").items()
        if r["Properties"].get("DeletionProtectionEnabled")
    }
    cleanups = [r["Properties"] for r in resources.values() if r["Type"] == "Custom::FailedCreateCleanup"]
    auto_deleted = {
        ref_target(r["Properties"]["BucketName"])
        for r in resources.values()
        if r["Type"] == "Custom::S3AutoDeleteObjects"
    }
    if each_env.stack.storage.retain_data:
        (cleanup,) = cleanups
        assert {ref_target(b) for b in cleanup["Buckets"]} == buckets
        assert protected_tables
        assert {ref_target(t) for t in cleanup["Tables"]} >= protected_tables
        assert not auto_deleted  # never empty a retained bucket on delete
    else:
        assert not cleanups
        assert not protected_tables
        assert auto_deleted == buckets


def test_every_writer_to_a_retained_bucket_waits_for_the_cleanup(prod):
    resources = prod.template["Resources"]
    (cleanup_id,) = [i for i, r in resources.items() if r["Type"] == "Custom::FailedCreateCleanup"]
    writers = [
        i
        for i, r in resources.items()
        if r["Type"] in ("Custom::CDKBucketDeployment", "AWS::MWAA::Environment")
    ]
    assert writers
    for writer in writers:
        assert cleanup_id in resources[writer].get("DependsOn", []), writer


def dependencies(resource: dict[str, Any]) -> set[str]:
    """The logical ids a resource waits for: DependsOn, Ref and Fn::GetAtt (pseudo parameters aside)."""
    found = set(as_list(resource.get("DependsOn", [])))

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            target = ref_target(value) if len(value) == 1 else None
            if target and not target.startswith("AWS::"):
                found.add(target)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk({k: v for k, v in resource.items() if k != "DependsOn"})
    return found


def transitive(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for target in graph.get(todo.pop(), set()) - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_every_resource_outside_the_data_stores_waits_for_the_failed_create_cleanup(
    prod, with_optional_parts
):
    """A failed first create rolls back cleanly only if every resource that can fail is created after
    the cleanup exists (and deleted before it runs): everything but the cleanup's own inputs (the
    buckets, table and key it names, its handler) must depend on it. Over prod and prod with every
    optional part (chat channels, incident tool, QuickSight)."""
    for synth in (prod, with_optional_parts):
        resources = synth.template["Resources"]
        graph = {logical_id: dependencies(r) for logical_id, r in resources.items()}
        (cleanup_id,) = [i for i, r in resources.items() if r["Type"] == "Custom::FailedCreateCleanup"]
        needed_by_cleanup = transitive(graph, cleanup_id)
        paths = {
            synth.stack.get_logical_id(c): c.node.path
            for c in synth.stack.node.find_all()
            if isinstance(c, CfnElement) and synth.stack.get_logical_id(c) in resources
        }
        stores = ("Storage", "KpiStore", "FailedCreateCleanup")
        for logical_id in needed_by_cleanup:
            assert paths[logical_id].split("/")[1] in stores, f"the cleanup waits for {paths[logical_id]}"
        outside = set(resources) - needed_by_cleanup - {cleanup_id}
        assert len(outside) > 40
        late = sorted(paths.get(i, i) for i in outside if cleanup_id not in transitive(graph, i))
        assert not late, f"{synth.env}: created beside the cleanup: {late}"


# --- 6. Operations -----------------------------------------------------------------------------------


def test_mwaa_alarms_wait_for_the_environment(each_env):
    environment_id = each_env.stack.get_logical_id(each_env.stack.mwaa.environment)
    mwaa_alarms = [
        (i, r)
        for i, r in each_env.resources("AWS::CloudWatch::Alarm").items()
        if "AmazonMWAA" in json.dumps(r)
    ]
    assert len(mwaa_alarms) == 2
    for logical_id, alarm in mwaa_alarms:
        assert environment_id in alarm.get("DependsOn", []), logical_id
    heartbeat = next(r["Properties"] for _, r in mwaa_alarms if "SchedulerHeartbeat" in json.dumps(r))
    period = heartbeat.get("Period") or heartbeat["Metrics"][0]["MetricStat"]["Period"]
    # Longer than an environment update, during which the replaced scheduler publishes nothing.
    assert heartbeat["EvaluationPeriods"] * period >= 3600


def test_every_glue_metric_has_the_type_glue_publishes_it_with(each_env):
    body = render(each_env.only("AWS::CloudWatch::Dashboard")["DashboardBody"], each_env.template)
    glue_metrics = [
        m
        for w in json.loads(body)["widgets"]
        for m in w.get("properties", {}).get("metrics", [])
        if m[0] == "Glue"
    ]
    assert len(glue_metrics) == len(GLUE_METRIC_TYPES)
    for metric in glue_metrics:
        name, dimensions = metric[1], dict(zip(metric[2:-1:2], metric[3:-1:2], strict=False))
        assert dimensions["Type"] == GLUE_METRIC_TYPES[name], metric
    assert GLUE_METRIC_TYPES["glue.ALL.s3.filesystem.read_bytes"] == "gauge"


def test_s3_traffic_from_the_private_subnets_uses_the_gateway_endpoint(each_env):
    (endpoint,) = each_env.resources("AWS::EC2::VPCEndpoint").values()
    props = endpoint["Properties"]
    assert props["VpcEndpointType"] == "Gateway"
    assert ".s3" in json.dumps(props["ServiceName"])
    private_tables = {
        json.dumps(r["Properties"]["RouteTableId"])
        for r in each_env.resources("AWS::EC2::SubnetRouteTableAssociation").values()
        if "private" in json.dumps(r["Properties"]["SubnetId"]).lower()
    }
    assert {json.dumps(t) for t in props["RouteTableIds"]} == private_tables


def test_mwaa_reads_its_source_bucket_with_the_documented_actions(each_env):
    policy = each_env.template["Resources"][each_env.logical_id(each_env.stack.mwaa_execution_role.policy)]
    statement = next(
        s for s in statements(policy["Properties"]["PolicyDocument"]) if s.get("Sid") == "ReadSourceBucket"
    )
    assert set(as_list(statement["Action"])) == {"s3:GetObject*", "s3:GetBucket*", "s3:List*"}
    assert MWAA_SOURCE_BUCKET_READ_ACTIONS == ["s3:GetObject*", "s3:GetBucket*", "s3:List*"]
    source = each_env.logical_id(each_env.stack.storage.mwaa_source_bucket)
    assert {ref_target(r) or render(r, each_env.template) for r in as_list(statement["Resource"])} <= {
        source,
        f"${{{source}.Arn}}/*",
    }
