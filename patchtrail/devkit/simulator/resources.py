"""CIs of the other resource types an instance has: AWS::EC2::Instance and ManagedInstanceInventory."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from patchtrail.devkit.simulator.catalog import DAY_MS, FLAVOURS, date_ms, month_starts
from patchtrail.devkit.simulator.fleet import Fleet, Instance
from patchtrail.devkit.simulator.items import (
    EC2_TYPE,
    INVENTORY_TYPE,
    configuration_item,
    iso_ms,
)

INSTANCE_TYPES = ("t3.medium", "t3.large", "m5.large", "m5.xlarge", "m6i.large", "c5.xlarge",
                  "r5.large")
GRAVITON_TYPES = ("t4g.medium", "m6g.large", "m7g.large", "c7g.xlarge")
AGENT_UPDATE_PER_MONTH = 0.25
RESIZE_RATE = 0.25


def resource_items(instance: Instance, fleet: Fleet) -> Iterator[dict[str, Any]]:
    """Yield the instance's EC2 and inventory CIs (file dialect) in capture order."""
    rng = random.Random(f"{instance.rng_key}:resources")
    facts = _facts(instance, rng)
    items: list[dict[str, Any]] = []
    first_ms = fleet.start_ms if instance.join_ms is None else instance.join_ms
    last_ms = instance.end_ms if instance.end_ms is not None else fleet.end_ms - DAY_MS // 2
    if instance.join_ms is not None:
        if not instance.hybrid:
            items.append(_ec2(instance, facts, instance.join_ms + rng.randrange(60, 240) * 1000,
                              "ResourceDiscovered"))
        items.append(_inventory(instance, facts, instance.join_ms + rng.randrange(300, 900) * 1000,
                                "ResourceDiscovered"))
    if not instance.hybrid and rng.random() < RESIZE_RATE * (last_ms - first_ms) / (120 * DAY_MS):
        at = rng.randrange(first_ms + DAY_MS, max(first_ms + DAY_MS + 1, last_ms - DAY_MS))
        facts["instanceType"] = rng.choice(GRAVITON_TYPES if instance.arch == "aarch64"
                                           else INSTANCE_TYPES)
        items.append(_ec2(instance, facts, at, "OK"))
    for month in month_starts(first_ms, last_ms):
        if rng.random() < AGENT_UPDATE_PER_MONTH:
            at = date_ms(month) + rng.randrange(0, 28 * DAY_MS)
            if first_ms + DAY_MS < at < last_ms - DAY_MS:
                facts["agentVersion"] = _next_agent(facts["agentVersion"], rng)
                items.append(_inventory(instance, facts, at, "OK"))
    if instance.end_ms is not None:
        if not instance.hybrid:
            items.append(_ec2(instance, facts, instance.end_ms + rng.randrange(5, 60) * 1000,
                              "ResourceDeleted"))
        items.append(_inventory(instance, facts, instance.end_ms + rng.randrange(60, 600) * 1000,
                                "ResourceDeleted"))
    items.sort(key=lambda ci: ci["configurationStateId"])
    yield from items


def _facts(instance: Instance, rng: random.Random) -> dict[str, Any]:
    octets = (rng.randrange(0, 64), rng.randrange(0, 256), rng.randrange(4, 250))
    launch = (instance.join_ms or instance.ami_ms + rng.randrange(1, 10) * DAY_MS) - 300_000
    return {
        "imageId": f"ami-{rng.getrandbits(68):017x}",
        "subnetId": f"subnet-{rng.getrandbits(68):017x}",
        "vpcId": f"vpc-{rng.getrandbits(68):017x}",
        "az": f"{instance.region}{rng.choice('abc')}",
        "ip": f"10.{octets[0]}.{octets[1]}.{octets[2]}",
        "launchMs": launch - launch % 1000,
        "instanceType": rng.choice(GRAVITON_TYPES if instance.arch == "aarch64"
                                   else INSTANCE_TYPES),
        "agentVersion": f"3.3.{rng.randint(1000, 1700)}.0",
    }


def _next_agent(version: str, rng: random.Random) -> str:
    major, minor, build, patch = version.split(".")
    return f"{major}.{minor}.{int(build) + rng.randint(20, 120)}.{patch}"


def _hostname(instance: Instance, facts: dict[str, Any]) -> str:
    if instance.platform == "Windows":
        return f"EC2AMAZ-{instance.instance_id[-7:].upper()}"
    return f"ip-{facts['ip'].replace('.', '-')}.{instance.region}.compute.internal"


def _ec2(instance: Instance, facts: dict[str, Any], at_ms: int, status: str) -> dict[str, Any]:
    deleted = status == "ResourceDeleted"
    tags = {"Name": _hostname(instance, facts).split(".")[0]}
    if instance.patch_group:
        tags["Patch Group"] = instance.patch_group
    configuration = None if deleted else {
        "amiLaunchIndex": 0,
        "architecture": "arm64" if instance.arch == "aarch64" else "x86_64",
        "imageId": facts["imageId"],
        "instanceId": instance.instance_id,
        "instanceType": facts["instanceType"],
        "launchTime": iso_ms(facts["launchMs"]),
        "placement": {"availabilityZone": facts["az"], "tenancy": "default"},
        "platform": "windows" if instance.platform == "Windows" else None,
        "privateIpAddress": facts["ip"],
        "state": {"code": 16, "name": "running"},
        "subnetId": facts["subnetId"],
        "vpcId": facts["vpcId"],
        "tags": [{"key": k, "value": v} for k, v in tags.items()],
    }
    relationships = [] if deleted else [
        {"resourceId": facts["subnetId"], "resourceName": None,
         "resourceType": "AWS::EC2::Subnet", "name": "Is contained in Subnet"},
        {"resourceId": facts["vpcId"], "resourceName": None,
         "resourceType": "AWS::EC2::VPC", "name": "Is contained in Vpc"},
    ]
    return configuration_item(
        account_id=instance.account_id, region=instance.region, resource_type=EC2_TYPE,
        resource_id=instance.instance_id, capture_ms=at_ms, status=status,
        configuration=configuration,
        arn=f"arn:aws:ec2:{instance.region}:{instance.account_id}:instance/{instance.instance_id}",
        availability_zone=facts["az"], resource_creation_time=iso_ms(facts["launchMs"]),
        relationships=relationships, tags={} if deleted else tags)


def _inventory(instance: Instance, facts: dict[str, Any], at_ms: int,
               status: str) -> dict[str, Any]:
    deleted = status == "ResourceDeleted"
    flavour = FLAVOURS[instance.flavour]
    configuration = None if deleted else {
        "AWS:InstanceInformation": {"Content": {instance.instance_id: {
            "AgentType": "amazon-ssm-agent",
            "AgentVersion": facts["agentVersion"],
            "ComputerName": _hostname(instance, facts),
            "InstanceId": instance.instance_id,
            "InstanceStatus": "Active",
            "IpAddress": facts["ip"],
            "PlatformName": flavour.name,
            "PlatformType": flavour.platform,
            "PlatformVersion": flavour.version,
            "ResourceType": "ManagedInstance" if instance.hybrid else "EC2Instance",
        }}},
    }
    return configuration_item(
        account_id=instance.account_id, region=instance.region, resource_type=INVENTORY_TYPE,
        resource_id=instance.instance_id, capture_ms=at_ms, status=status,
        configuration=configuration,
        arn=(f"arn:aws:ssm:{instance.region}:{instance.account_id}:"
             f"managed-instance-inventory/{instance.instance_id}"),
        supplementary={} if deleted else {"instanceStatus": "Active"})
