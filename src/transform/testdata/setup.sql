DROP TABLE IF EXISTS customers;
CREATE TABLE customers (
  id int PRIMARY KEY,
  first_name text NOT NULL,
  email varchar(255),
  status text DEFAULT 'active',
  balance numeric(10,2),
  created date,
  score double precision
);
INSERT INTO customers VALUES
  (1, 'Sally', 'sally@example.com', 'vip', 12.50, '2023-01-02', 1.5),
  (2, 'George', 'george@example.com', NULL, NULL, NULL, NULL);
