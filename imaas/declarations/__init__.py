"""What the platform declares, as plain data: names, isolation, delivery, safety, charts and observability."""
