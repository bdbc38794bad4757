"""tap-matomo: a Singer tap for Matomo web analytics."""
