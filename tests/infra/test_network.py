"""infra/network.py: the VPC, its NAT gateways and flow logs, MWAA's security group.
The templates come from the session's one synth per environment (conftest.py)."""

from __future__ import annotations

import json


def test_vpc_two_private_subnets_in_two_azs_with_nat_and_flow_logs(each_env):
    subnets = each_env.resources("AWS::EC2::Subnet")
    private = [s["Properties"] for s in subnets.values() if s["Properties"]["MapPublicIpOnLaunch"] is False]
    assert len(subnets) == 4
    assert len(private) == 4  # nothing gets a public IP on launch
    azs = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()}
    assert len(azs) == 2
    assert len(each_env.resources("AWS::EC2::NatGateway")) == each_env.config.nat_gateways
    flow_log = each_env.only("AWS::EC2::FlowLog")
    assert flow_log["TrafficType"] == "ALL"
    assert flow_log["LogDestinationType"] == "cloud-watch-logs"
    assert each_env.only("AWS::EC2::VPC")["CidrBlock"] == each_env.config.vpc_cidr


def test_prod_survives_an_az_loss_with_two_nat_gateways(dev, prod):
    assert len(dev.resources("AWS::EC2::NatGateway")) == 1
    assert len(prod.resources("AWS::EC2::NatGateway")) == 2


def test_mwaa_security_group_only_admits_itself(each_env):
    sg_id = each_env.logical_id(each_env.stack.network.security_group)
    ingress = [r["Properties"] for r in each_env.resources("AWS::EC2::SecurityGroupIngress").values()]
    assert sorted(r["FromPort"] for r in ingress if r["GroupId"]["Fn::GetAtt"][0] == sg_id) == [443, 5432]
    for rule in ingress:
        assert "CidrIp" not in rule
        assert rule["SourceSecurityGroupId"] == {"Fn::GetAtt": [sg_id, "GroupId"]}
