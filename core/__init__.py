"""What every app shares and none owns (no models, not a Django app): the error family, the
outbound guard, the model-server rules, the registries' plumbing, the CJK definitions."""
