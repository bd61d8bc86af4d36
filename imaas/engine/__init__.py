"""The offline plan engine: the real Pulumi program under Pulumi's mocks.

The one package of imaas that imports Pulumi (and the components), so the rest never needs the SDK.
"""
