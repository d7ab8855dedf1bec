-- One database per service; no service reads another's.
CREATE DATABASE ledger;
CREATE DATABASE overdue;
CREATE DATABASE notifier;
CREATE DATABASE restructure;
