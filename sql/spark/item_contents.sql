-- spark item_contents
-- Grain: one row per unique item (unique_items): the raw text of its Content.Patch (null: no
-- patch map, which only deletions and ResourceNotRecorded items have).
-- An item that carries a configuration (OK, ResourceDiscovered) must hold a patch map, as
-- transforms/items.py `_configuration` requires: content_reject_reason names the first problem
-- (configuration missing, not valid JSON or not an object; no AWS:ComplianceItem, or one that is
-- not an object, decoded when it arrives as a JSON string; no Content or one that is not an
-- object; no Content.Patch or one that is not an object). An empty Patch {} is valid.
-- Types are read from VARIANTs (parse_json keeps JSON types); texts and key order from
-- from_json (which keeps an object's JSON text in order).
-- Reads: temp view unique_items.
with
items as (select * from unique_items),
configuration as (
    select
        *,
        is_recorded and not is_deleted as must_have_map,
        try_parse_json(configuration_json) as config_v,
        from_json(configuration_json, '`AWS:ComplianceItem` string').`AWS:ComplianceItem` as compliance_text
    from items
),
config_object as (
    select
        *,
        try_variant_get(config_v, '$', 'struct<`AWS:ComplianceItem`: variant>') as config_o
    from configuration
),
compliance_raw as (
    select
        *,
        config_o.`AWS:ComplianceItem` as compliance_raw_v
    from config_object
),
compliance_decoded as (
    select
        *,
        compliance_raw_v is not null and not is_variant_null(compliance_raw_v)
            and try_variant_get(compliance_raw_v, '$', 'struct<Content: variant>') is null
            and schema_of_variant(compliance_raw_v) = 'STRING' as compliance_is_string
    from compliance_raw
),
compliance as (
    select
        *,
        case when compliance_is_string then try_parse_json(variant_get(compliance_raw_v, '$', 'string'))
             else compliance_raw_v end as compliance_v
    from compliance_decoded
),
compliance_object as (
    select
        *,
        try_variant_get(compliance_v, '$', 'struct<Content: variant>') as compliance_o,
        from_json(compliance_text, 'map<string, string>') as compliance_map
    from compliance
),
content as (
    select
        *,
        compliance_o.Content as content_v,
        try_variant_get(compliance_o.Content, '$', 'struct<Patch: variant>') as content_o,
        from_json(try_element_at(compliance_map, 'Content'), 'map<string, string>') as content_map
    from compliance_object
),
patch_map as (
    select
        *,
        content_o.Patch as patch_v,
        try_element_at(content_map, 'Patch') as patch_json
    from content
),
typed as (
    select
        *,
        try_variant_get(patch_v, '$', 'struct<ComplianceSummary: variant>') is not null as patch_is_object
    from patch_map
),
checked as (
    select
        *,
        case
            when not must_have_map then null
            when configuration_json is null
                then 'configuration is missing (null); an item that is not a deletion must carry one'
            when config_v is null then 'configuration is not valid JSON'
            when is_variant_null(config_v)
                then 'configuration is null; an item that is not a deletion must carry one'
            when config_o is null then concat('configuration is ', case
                when schema_of_variant(config_v) like 'ARRAY%' then 'an array'
                when schema_of_variant(config_v) = 'STRING' then 'a string'
                when schema_of_variant(config_v) = 'BOOLEAN' then 'a boolean'
                else 'a number' end, ', expected an object')
            when compliance_raw_v is null or is_variant_null(compliance_raw_v)
                then 'configuration has no AWS:ComplianceItem'
            when compliance_v is null then 'AWS:ComplianceItem is not valid JSON'
            when compliance_o is null then concat('AWS:ComplianceItem is ', case
                when is_variant_null(compliance_v) then 'null'
                when schema_of_variant(compliance_v) like 'ARRAY%' then 'an array'
                when schema_of_variant(compliance_v) = 'STRING' then 'a string'
                when schema_of_variant(compliance_v) = 'BOOLEAN' then 'a boolean'
                else 'a number' end, ', expected an object')
            when compliance_o.Content is null then concat('AWS:ComplianceItem has no Content (keys: ',
                array_join(transform(slice(map_keys(compliance_map), 1, 5), k -> concat('''', k, '''')), ', '),
                case when cardinality(compliance_map) > 5 then ', ...' else '' end, ')')
            when content_o is null then concat('AWS:ComplianceItem.Content is ', case
                when is_variant_null(content_v) then 'null'
                when schema_of_variant(content_v) like 'ARRAY%' then 'an array'
                when schema_of_variant(content_v) = 'STRING' then 'a string'
                when schema_of_variant(content_v) = 'BOOLEAN' then 'a boolean'
                else 'a number' end, ', expected an object')
            when patch_v is null then concat('AWS:ComplianceItem.Content has no Patch map (keys: ',
                array_join(transform(slice(map_keys(content_map), 1, 5), k -> concat('''', k, '''')), ', '),
                case when cardinality(content_map) > 5 then ', ...' else '' end, ')')
            when not patch_is_object then concat('Content.Patch is not an object (', case
                when is_variant_null(patch_v) then 'null'
                when schema_of_variant(patch_v) like 'ARRAY%' then 'an array'
                when schema_of_variant(patch_v) = 'STRING' then 'a string'
                when schema_of_variant(patch_v) = 'BOOLEAN' then 'a boolean'
                else 'a number' end, ')')
        end as content_reject_reason
    from typed
)
select
    ci_id, account_id, aws_region, instance_id, captured_at, state_id, item_status, is_deleted,
    is_recorded,
    case when must_have_map then patch_json end as patch_json,
    must_have_map as has_patch_map,
    content_reject_reason
from checked
