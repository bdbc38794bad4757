"""Stream classes: configuration streams, the generic report stream, and special shapes."""
