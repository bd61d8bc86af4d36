"""The offline plan: the real program run under Pulumi's mocks, recorded resource by resource."""
