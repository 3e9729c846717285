-- Export one mart or history table to CSV, every cell through csv_cell (csv_cells.sql).
-- Rows sorted by all columns. Parameters: $table (schema.name, checked against the catalog
-- first), $path (the one file the export's connection may write).
copy (
    select csv_cell(columns(*))
    from (select * from query_table($table) order by all)
) to $path (format csv, header true)
