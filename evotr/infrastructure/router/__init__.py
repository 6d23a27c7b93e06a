"""The n-gram intent router: Turkish-aware features, calibrated logistic regression, persistence."""
