-- Seed data for the Singer interop tests (scripts/postgres.sh start|seed): schema `shop`,
-- reset to exactly these rows every time, so goldens and assertions are deterministic.
--   shop.customers  30 rows, id 1..30; lifetime_cents is an int64 beyond 2^53 on every 10th row;
--                   updated_at 2024-01-01 01:00 UTC + (id - 1) hours
--   shop.orders     20 rows, order_id 9007199254740993 + (i - 1) (primary keys beyond 2^53);
--                   updated_at 2024-02-01 + i days, but the last two rows share one updated_at
--                   (so a ">=" bookmark re-reads both of them)
DROP SCHEMA IF EXISTS shop CASCADE;
CREATE SCHEMA shop;

CREATE TABLE shop.customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  lifetime_cents bigint NOT NULL,
  active boolean NOT NULL,
  updated_at timestamptz NOT NULL
);

INSERT INTO shop.customers (id, name, email, lifetime_cents, active, updated_at)
SELECT i,
       'Customer ' || i,
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'c' || i || '@example.com' END,
       CASE WHEN i % 10 = 0 THEN 9007199254740993 + i ELSE i * 1000 END,
       i % 3 <> 0,
       timestamptz '2024-01-01 01:00:00+00' + (i - 1) * interval '1 hour'
FROM generate_series(1, 30) AS i;

CREATE TABLE shop.orders (
  order_id bigint PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES shop.customers (id),
  quantity integer NOT NULL,
  note text,
  updated_at timestamptz NOT NULL
);

INSERT INTO shop.orders (order_id, customer_id, quantity, note, updated_at)
SELECT 9007199254740992 + i,
       1 + (i * 7) % 30,
       i,
       CASE WHEN i % 5 = 0 THEN 'café ☕ #' || i ELSE 'order ' || i END,
       timestamptz '2024-02-01 00:00:00+00' + least(i, 19) * interval '1 day'
FROM generate_series(1, 20) AS i;
