"""The points ledger: double-entry accounts, immutable bookings, lots with maturation and expiry."""
