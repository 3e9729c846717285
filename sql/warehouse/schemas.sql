-- The warehouse's schemas, in data-flow order.
create schema if not exists landing;
create schema if not exists staging;
create schema if not exists history;
create schema if not exists marts;
