-- What logical replication (DMS CDC, or the local replicator's wal2json slot) needs.
-- Every table has a primary key, so REPLICA IDENTITY DEFAULT already logs the key of updated
-- and deleted rows; FULL is set on the tables whose deletes the lake must see with every column
-- (DMS writes "at least the key" for D; FULL lets us write the whole before image).
alter table auto_parts           replica identity full;
alter table customers            replica identity full;
alter table service              replica identity full;
alter table service_parts        replica identity full;
alter table sales_order          replica identity full;
alter table sales_order_parts    replica identity full;
alter table sales_order_services replica identity full;

-- DMS on PostgreSQL >= 10 uses pglogical or test_decoding; a publication limits what is published
-- to the 7 tables. The local replicator filters wal2json output to the same list.
-- A table dropped and created again leaves the publication: `up` puts it back.
do $$
declare
    source_table text;
begin
    if not exists (select 1 from pg_publication where pubname = 'autocorp_lake') then
        create publication autocorp_lake for table
            auto_parts, customers, service, service_parts,
            sales_order, sales_order_parts, sales_order_services;
    end if;
    foreach source_table in array array['auto_parts', 'customers', 'service', 'service_parts',
                                         'sales_order', 'sales_order_parts', 'sales_order_services'] loop
        if not exists (select 1 from pg_publication_tables
                       where pubname = 'autocorp_lake' and schemaname = 'public' and tablename = source_table) then
            execute format('alter publication autocorp_lake add table public.%I', source_table);
        end if;
    end loop;
end
$$;
