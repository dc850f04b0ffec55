-- AutoCorp operational schema (database `autocorp`, schema `public`): the 7 source tables.
-- Idempotent: safe to run on an existing database.

create table if not exists auto_parts (
    part_id     serial primary key,
    sku         varchar(50) not null unique,
    name        varchar(200),
    category    varchar(100),
    price       numeric(10, 2),
    created_at  timestamp,
    updated_at  timestamp
);

create table if not exists customers (
    customer_id serial primary key,
    first_name  varchar(100) not null,
    last_name   varchar(100) not null,
    email       varchar(200) not null unique,
    phone       varchar(50),
    address     varchar(300),
    city        varchar(100),
    state       varchar(50),
    zip_code    varchar(20),
    created_at  timestamp,
    updated_at  timestamp
);

create table if not exists service (
    serviceid     varchar(50) primary key,
    service       varchar(200),
    category      varchar(50),
    labor_minutes integer,
    labor_cost    money
);

create table if not exists service_parts (
    service_part_id serial primary key,
    serviceid       varchar(50) not null references service (serviceid),
    sku             varchar(50) not null,
    quantity        integer default 1,
    created_at      timestamp,
    unique (serviceid, sku)
);

create table if not exists sales_order (
    order_id       serial primary key,
    customer_id    integer not null references customers (customer_id),
    order_date     timestamp not null,
    invoice_number varchar(50) not null unique,
    payment_method varchar(50),
    subtotal       numeric(12, 2),
    tax            numeric(12, 2),
    total_amount   numeric(12, 2) not null,
    order_type     varchar(20) check (order_type in ('Parts', 'Service', 'Mixed')),
    status         varchar(50),
    notes          text,
    created_at     timestamp,
    updated_at     timestamp
);

create table if not exists sales_order_parts (
    line_item_id     serial primary key,
    order_id         integer not null references sales_order (order_id) on delete cascade,
    part_id          integer,
    sku              varchar(50),
    part_description varchar(200),
    quantity         integer check (quantity > 0),
    unit_price       numeric(10, 2) not null,
    line_total       numeric(12, 2) not null,
    created_at       timestamp
);

create table if not exists sales_order_services (
    line_item_id        serial primary key,
    order_id            integer not null references sales_order (order_id) on delete cascade,
    serviceid           varchar(50) not null references service (serviceid),
    service_description varchar(200),
    quantity            integer check (quantity > 0),
    labor_minutes       integer not null,
    labor_cost          numeric(10, 2) not null,
    parts_cost          numeric(10, 2),
    line_total          numeric(12, 2) not null,
    vehicle_id          integer,
    technician_id       integer,
    service_status      varchar(50),
    created_at          timestamp
);

create index if not exists sales_order_customer_idx on sales_order (customer_id);
create index if not exists sales_order_parts_order_idx on sales_order_parts (order_id);
create index if not exists sales_order_services_order_idx on sales_order_services (order_id);
