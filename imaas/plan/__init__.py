"""The offline plan as a record, and what reads it: the plan JSON, its guardrail check, its manifests and reports, the
diff of two plans and a pull request's review. The program that makes it runs in imaas.engine."""
