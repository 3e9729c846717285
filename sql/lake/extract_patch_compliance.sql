-- lake/extract_patch_compliance.sql (CloudTrail Lake, Trino dialect)
-- Grain: one row per event of an AWS::SSM::PatchCompliance configuration item with eventTime in
--   the half-open window [start, end). ResourceDeleted items are kept: they close an instance's
--   history, and come back with a NULL configurationJson.
-- Reads: the AWS Config event data store given as event_data_store.
-- Parameters (filled by patchtrail.lake.queries.render after validation):
--   event_data_store  event data store id, used as the FROM target
--   start, end        UTC timestamp literals 'YYYY-MM-DD HH:MM:SS[.fff]'
-- Every output cell is a plain string or JSON text, so API rows and delivered CSV cells parse the
-- same way. The configuration state id is read from eventJson under both of its documented names.
-- json_extract yields the JSON value null (not SQL NULL) for "configuration": null, hence nullif.
-- No CTEs: CloudTrail Lake does not accept them.
select
    eventID as eventId,
    eventTime as eventTime,
    eventData.accountId as accountId,
    eventData.awsRegion as awsRegion,
    eventData.resourceId as resourceId,
    eventData.configurationItemStatus as ciStatus,
    eventData.configurationItemCaptureTime as ciCaptureTime,
    coalesce(
        json_extract_scalar(json_parse(eventJson), '$.eventData.configurationStateId'),
        json_extract_scalar(json_parse(eventJson), '$.eventData.configurationItemStateId')
    ) as ciStateId,
    nullif(
        json_format(json_extract(json_parse(eventJson), '$.eventData.configuration')),
        'null'
    ) as configurationJson
from {event_data_store}
where
    eventData.resourceType = 'AWS::SSM::PatchCompliance'
    and eventTime >= {start}
    and eventTime < {end}
