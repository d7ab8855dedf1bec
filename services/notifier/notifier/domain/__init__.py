"""The notifier's pure domain: the contact policy and its value objects."""
