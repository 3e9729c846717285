-- Temporary macros for CSV exports (`patchtrail export`): cells no spreadsheet runs as formulas.
-- csv_text(text): text starting with =, +, -, @, tab, carriage return or ' gets one leading '
--     (OWASP's advice; the ' itself is escaped too, so that the rule can be undone: remove one
--     leading ' from any text cell that starts with one).
-- csv_cell(value): a value as CSV text: numbers as they are (a number cannot start a formula);
--     lists, structs and maps as JSON; everything else as text, through csv_text.
create or replace temp macro csv_text(text) as
    case
        when left(text, 1) in ('=', '+', '-', '@', chr(9), chr(13), '''') then '''' || text
        else text
    end;
create or replace temp macro csv_cell(value) as
    case
        when typeof(value) in ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT',
                               'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT', 'FLOAT', 'DOUBLE')
            or typeof(value) like 'DECIMAL(%'
            then value::varchar
        when typeof(value) like '%[]' or typeof(value) like '%]' or typeof(value) like 'STRUCT(%'
            or typeof(value) like 'MAP(%'
            then csv_text(to_json(value)::varchar)
        else csv_text(value::varchar)
    end;
