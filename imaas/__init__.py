"""IMaaS: Integration Mashup as a Service. Tenant models, validation, the offline plan and the command line."""
