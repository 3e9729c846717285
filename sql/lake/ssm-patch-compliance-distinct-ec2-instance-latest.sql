-- lake/ssm-patch-compliance-distinct-ec2-instance-latest.sql
-- Grain: one row per instance id (resourceId without its prefix; account and region are not part
--   of the key), from its events with the latest eventTime; ties on eventTime all come back. The
--   latest event is kept even when it has no patch map (its bucket arrays are then NULL).
-- Port of the AWS sample query of the same file name in aws-samples/cloud-trail-lake-query-samples,
-- rewritten in our layout with identical semantics (CloudTrail Lake, Trino dialect).
-- Columns: accountId, awsRegion, InstanceId, eventTime, then one array(json) of patch Ids
--   per PatchState bucket: Installed, InstalledOther, InstalledPendingReboot, Missing, Failed
--   (other states, e.g. NotApplicable, and the ComplianceSummary entry fall in no bucket).
-- Parameters (filled by patchtrail.lake.queries.render after validation):
--   event_data_store  event data store id, used as the FROM target
-- No CTEs: CloudTrail Lake does not accept them; the inner select is a FROM subquery instead.
select
    eventData.accountId,
    eventData.awsRegion,
    replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/') as InstanceId,
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
        eventTime,
        rank() over (
            partition by replace(eventData.resourceId, 'AWS::SSM::ManagedInstanceInventory/')
            order by eventTime desc
        ) as rnk
    from {event_data_store}
    where eventData.resourceType = 'AWS::SSM::PatchCompliance'
)
where rnk = 1
