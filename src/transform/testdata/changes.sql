INSERT INTO customers VALUES (3, 'Edward', 'ed@example.com', 'active', 0.10, '2024-02-29', 2.25);
UPDATE customers SET email = 'sally@new.example.com', status = NULL WHERE id = 1;
DELETE FROM customers WHERE id = 2;
UPDATE customers SET id = 4 WHERE id = 3;
