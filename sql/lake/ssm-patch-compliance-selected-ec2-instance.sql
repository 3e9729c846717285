-- lake/ssm-patch-compliance-selected-ec2-instance.sql
-- Grain: one row per PatchCompliance event of one instance whose Content.Patch map is present
--   (deleted items and string-encoded AWS:ComplianceItem values give a NULL map: dropped).
-- Port of the AWS sample query of the same file name in aws-samples/cloud-trail-lake-query-samples,
-- rewritten in our layout with identical semantics (CloudTrail Lake, Trino dialect).
-- Columns: InstanceId, accountId, awsRegion, eventTime, then one array(json) of patch Ids
--   per PatchState bucket: Installed, InstalledOther, InstalledPendingReboot, Missing, Failed
--   (other states, e.g. NotApplicable, and the ComplianceSummary entry fall in no bucket).
-- Parameters (filled by patchtrail.lake.queries.render after validation):
--   event_data_store  event data store id, used as the FROM target
--   instance_id       quoted instance id literal, compared with the stripped resourceId
-- No CTEs: CloudTrail Lake does not accept them; the inner select is a FROM subquery instead.
select
    replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') as InstanceId,
    eventData.accountId,
    eventData.awsRegion,
    eventTime,
    transform(
        filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Installed'),
        FoundItem -> json_extract(FoundItem, '$.Id')
    ) as Installed,
    transform(
        filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledOther'),
        FoundItem -> json_extract(FoundItem, '$.Id')
    ) as InstalledOther,
    transform(
        filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'InstalledPendingReboot'),
        FoundItem -> json_extract(FoundItem, '$.Id')
    ) as InstalledPendingReboot,
    transform(
        filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Missing'),
        FoundItem -> json_extract(FoundItem, '$.Id')
    ) as Missing,
    transform(
        filter(PatchResult, PatchItem -> cast(json_extract(PatchItem, '$.PatchState') as varchar) = 'Failed'),
        FoundItem -> json_extract(FoundItem, '$.Id')
    ) as Failed
from (
    select
        eventData,
        map_values(cast(json_extract(json_parse(eventJson),
            '$.eventData.configuration.AWS:ComplianceItem.Content.Patch') as map(varchar, json))) as PatchResult,
        eventTime
    from {event_data_store}
    where eventData.resourceType = 'AWS::SSM::PatchCompliance'
        and replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') = {instance_id}
)
where PatchResult is not null
