-- benchmarks/merge_floor.sql: the set-based floor of one daily increment's history merge.
-- Inputs: the increment staged (landing + staging) as load $load_id, history not yet merged.
-- Close the current versions the new item changes or omits; insert the versions it starts;
-- tracked attributes compared by hash. Written independently of sql/warehouse/history/.
create temp table inc as
        select s.*, l.ingested_at as recorded_at
        from staging.instance_snapshots as s join landing.configuration_items as l using (ci_id)
        where l.load_id = $load_id;

create temp table new_obs as
        select o.*, i.recorded_at, hash(state, compliance_status, severity, vendor_severity, classification, title, installed_at, cve_ids, baseline_id, patch_group, raw_state, installed_time_raw) as h
        from staging.patch_observations as o join (select ci_id, recorded_at from inc) as i using (ci_id);

create temp table cur as
        select account_id, aws_region, instance_id, patch_id, hash(state, compliance_status, severity, vendor_severity, classification, title, installed_at, cve_ids, baseline_id, patch_group, raw_state, installed_time_raw) as h
        from history.patch_state
        where is_current and (account_id, aws_region, instance_id) in
            (select account_id, aws_region, instance_id from inc);

create temp table ended as
        select c.account_id, c.aws_region, c.instance_id, c.patch_id from cur as c
        anti join new_obs as n using (account_id, aws_region, instance_id, patch_id, h);

update history.patch_state as p set valid_to = i.captured_at, is_current = false
        from ended as e join inc as i using (account_id, aws_region, instance_id)
        where p.is_current and p.account_id = e.account_id and p.aws_region = e.aws_region
            and p.instance_id = e.instance_id and p.patch_id = e.patch_id;

insert into history.patch_state by name
        select account_id, aws_region, instance_id, patch_id, captured_at as valid_from,
            null::timestamptz as valid_to, true as is_current, ci_id, recorded_at,
            state, compliance_status, severity, vendor_severity, classification, title, installed_at, cve_ids, baseline_id, patch_group, raw_state, installed_time_raw
        from new_obs as n anti join cur as c using (account_id, aws_region, instance_id, patch_id, h);

create temp table inc_changed as
        with
        new_items as (select *, hash(is_deleted, has_patch_map, compliance_status, overall_severity, baseline_id, patch_group, execution_type, patch_count, installed_count, installed_other_count, installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count, not_applicable_count, available_security_update_count, non_compliant_critical_count, non_compliant_high_count, non_compliant_medium_count, non_compliant_low_count, non_compliant_informational_count, non_compliant_unspecified_count, case when has_patch_map then coalesce(unknown_count, 0) end, coalesce(is_recorded, true)) as h from inc),
        current_versions as (
            select account_id, aws_region, instance_id, hash(is_deleted, has_patch_map, compliance_status, overall_severity, baseline_id, patch_group, execution_type, patch_count, installed_count, installed_other_count, installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count, not_applicable_count, available_security_update_count, non_compliant_critical_count, non_compliant_high_count, non_compliant_medium_count, non_compliant_low_count, non_compliant_informational_count, non_compliant_unspecified_count, case when has_patch_map then coalesce(unknown_count, 0) end, coalesce(is_recorded, true)) as h
            from history.instance_compliance
            where is_current and (account_id, aws_region, instance_id) in
                (select account_id, aws_region, instance_id from inc)
        )
        select n.* exclude (h)
        from new_items as n left join current_versions as c using (account_id, aws_region, instance_id)
        where c.h is distinct from n.h;

update history.instance_compliance as h set valid_to = i.captured_at, is_current = false
        from inc_changed as i
        where h.is_current and h.account_id = i.account_id and h.aws_region = i.aws_region
            and h.instance_id = i.instance_id;

insert into history.instance_compliance by name
        select account_id, aws_region, instance_id, captured_at as valid_from,
            null::timestamptz as valid_to, true as is_current, recorded_at, is_deleted, ci_id, item_status, has_patch_map, compliance_status, overall_severity, baseline_id, patch_group, execution_type, patch_count, installed_count, installed_other_count, installed_pending_reboot_count, installed_rejected_count, missing_count, failed_count, not_applicable_count, available_security_update_count, non_compliant_critical_count, non_compliant_high_count, non_compliant_medium_count, non_compliant_low_count, non_compliant_informational_count, non_compliant_unspecified_count, case when has_patch_map then coalesce(unknown_count, 0) end as unknown_count, coalesce(is_recorded, true) as is_recorded
        from inc_changed;
