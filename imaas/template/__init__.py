"""Publishing the service template as versions, and syncing services to its newest."""
