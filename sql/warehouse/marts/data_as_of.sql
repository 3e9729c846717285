-- marts.data_as_of(known_at := 'infinity')
-- Scalar macro: the warehouse's data-as-of time, the one default "as of" of every surface (the
-- CLI's status, sla, report, evidence and waivers; the report; the Parquet lake and PostgreSQL
-- publications; marts.account_summary, marts.fleet_summary, marts.current_missing_patches):
-- the latest configurationItemCaptureTime of the items landed by recording time `known_at`
-- (default: all of them), or now() while there is none. Status "now" is the status as of this
-- time: nothing is known about later times. Python: patchtrail.as_of.data_as_of(con).
-- Reads: landing.configuration_items. Parameters: known_at (timestamptz).
create or replace macro marts.data_as_of(known_at := 'infinity') as (
    select coalesce(max(captured_at), now())
    from landing.configuration_items
    where ingested_at <= cast(known_at as timestamptz)
)
